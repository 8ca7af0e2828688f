import Foundation
import LinuxSystem
import Synchronization
import Testing
import TestSupport
@testable import ReferralRouter

@Suite("DedicatedThreadExecutor")
struct DedicatedThreadExecutorTests {
    actor Elsewhere {
        func hop() async -> String {
            try? await Task.sleep(for: .milliseconds(2))
            return CurrentProcess.currentThreadName
        }
    }

    /// A stage as the daemon runs one: a nonisolated async method that awaits other things.
    final class Stage: Sendable {
        func run(hopping elsewhere: Elsewhere) async -> [String] {
            var names = [CurrentProcess.currentThreadName]
            for _ in 0..<3 {
                _ = await elsewhere.hop()
                try? await Task.sleep(for: .milliseconds(5))
                await Task.yield()
                names.append(CurrentProcess.currentThreadName)
            }
            return names
        }
    }

    /// A stage preferring the executor runs on its (named) thread, and comes back to it after each
    /// await of something that ran elsewhere.
    @Test func aStageRunsOnItsOwnThreadAndResumesThereAfterAwaits() async throws {
        let executor = DedicatedThreadExecutor(name: "rr-test-stage")
        defer { executor.shutdown() }
        let names = try await withinDeadline(seconds: 10) {
            await withTaskExecutorPreference(executor) { await Stage().run(hopping: Elsewhere()) }
        }
        #expect(names == Array(repeating: "rr-test-stage", count: 4))
        #expect(CurrentProcess.currentThreadName != "rr-test-stage")
    }

    /// A job that arrives after shutdown (a straggling continuation) still runs.
    @Test func aJobAfterShutdownStillRuns() async throws {
        let executor = DedicatedThreadExecutor(name: "rr-test-late")
        executor.shutdown()
        try await Task.sleep(for: .milliseconds(50))
        let ran = try await withinDeadline(seconds: 10) {
            await Task(executorPreference: executor) { true }.value
        }
        #expect(ran)
    }
}
