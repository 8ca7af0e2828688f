import Testing
@testable import ReferralRouter

/// When StatusReporter withholds WATCHDOG=1 because the intake loop has gone quiet.
struct WatchdogHealthTests {
    private let now = ContinuousClock.now

    @Test func beforeIntakeHasRunTheDaemonCountsAsStarting() {
        #expect(StatusReporter.intakeStall(lastHeartbeat: nil, now: now, settings: IntakeSettings()) == nil)
    }

    @Test func anIdleIntakeWaitingForItsRescanIsHealthy() {
        var settings = IntakeSettings()
        settings.rescanInterval = .seconds(60)
        // Idle: the loop sleeps up to the rescan interval; one batch may follow.
        let heartbeat = now - .seconds(60) - StatusReporter.batchAllowance
        #expect(StatusReporter.intakeStall(lastHeartbeat: heartbeat, now: now, settings: settings) == nil)
    }

    @Test func aLoopSilentBeyondItsLongestWaitAndOneBatchIsStalled() throws {
        var settings = IntakeSettings()
        settings.rescanInterval = .seconds(60)
        let heartbeat = now - .seconds(60) - StatusReporter.batchAllowance - .seconds(1)
        let stall = try #require(StatusReporter.intakeStall(lastHeartbeat: heartbeat, now: now, settings: settings))
        #expect(stall == .seconds(121))
    }

    @Test func aLongPauseRetryIntervalIsAllowedForToo() {
        var settings = IntakeSettings()
        settings.rescanInterval = .seconds(30)
        settings.pauseRetryInterval = .seconds(600)
        #expect(StatusReporter.intakeStallLimit(settings) == .seconds(660))
        #expect(StatusReporter.intakeStall(lastHeartbeat: now - .seconds(650), now: now, settings: settings) == nil)
        #expect(StatusReporter.intakeStall(lastHeartbeat: now - .seconds(661), now: now, settings: settings) != nil)
    }
}
