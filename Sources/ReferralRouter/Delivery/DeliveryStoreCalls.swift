/// The delivery stage's calls to the store, grouped across every destination: deliveries loaded at
/// about the same time share one read, and outcomes recorded at about the same time share one
/// durable commit. At full speed that is one store round trip per batch, not two per delivery.
struct DeliveryStoreCalls: Sendable {
    let load: GroupedCall<Int64, DeliveryLoad>
    let record: GroupCommit<DeliveryAttemptRecord>

    init(store: any ReferralStore) {
        load = GroupedCall(maxBatch: 256) { ids in try await store.loadDeliveries(ids: ids) }
        record = GroupCommit { attempts in try await store.recordAttempts(attempts) }
    }
}
