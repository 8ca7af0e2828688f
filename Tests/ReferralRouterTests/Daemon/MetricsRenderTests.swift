import Testing
@testable import ReferralRouter

@Suite("Metrics: the intake backlog")
struct MetricsRenderTests {
    private func status(backlog: Int, moreWaiting: Bool?, store: StoreStatus) -> RuntimeStatus {
        RuntimeStatus(pid: 1, startedAt: .now(), updatedAt: .now(), configurationGeneration: 1, intakePaused: nil,
                      intakeBacklog: backlog, intakeMoreWaiting: moreWaiting, receiptsBacklog: 0, transfersInFlight: 0,
                      destinations: [], store: store, alerts: [])
    }

    /// With more files in the folders than intake holds in memory, the backlog gauge is a lower bound,
    /// and a second gauge says so: an operator is never shown 4096 for a backlog of a million.
    @Test func aBacklogBeyondTheWaitingLimitIsFlagged() async throws {
        try await withTemporaryStore { fixture in
            let store = try await fixture.store.status()
            let beyond = Metrics.render(status(backlog: 4096, moreWaiting: true, store: store)).split(separator: "\n")
            #expect(beyond.contains("referral_router_intake_backlog 4096"))
            #expect(beyond.contains("referral_router_intake_more_waiting 1"))
            let within = Metrics.render(status(backlog: 12, moreWaiting: false, store: store)).split(separator: "\n")
            #expect(within.contains("referral_router_intake_more_waiting 0"))
            // A status.json from before the field reads as "not more waiting".
            #expect(Metrics.render(status(backlog: 0, moreWaiting: nil, store: store)).contains("referral_router_intake_more_waiting 0"))
        }
    }
}
