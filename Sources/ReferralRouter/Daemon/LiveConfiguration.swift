import Synchronization

/// The configuration in force, swapped atomically on reload. Stages read it once per unit of work
/// (a batch, a delivery), so a reload never changes a decision half-way.
public final class LiveConfiguration: Sendable {
    public struct Snapshot: Sendable {
        public var configuration: RouterConfiguration
        public var router: Router
        public var secrets: ResolvedSecrets
        /// Increments on every successful reload.
        public var generation: Int
    }

    private let state: Mutex<Snapshot>

    public init(configuration: RouterConfiguration, secrets: ResolvedSecrets) {
        state = Mutex(Snapshot(configuration: configuration, router: Router(policy: configuration.routing), secrets: secrets, generation: 1))
    }

    public var current: Snapshot { state.withLock { $0 } }

    public func replace(with configuration: RouterConfiguration, secrets: ResolvedSecrets) -> Snapshot {
        state.withLock { snapshot in
            snapshot = Snapshot(configuration: configuration, router: Router(policy: configuration.routing), secrets: secrets,
                                generation: snapshot.generation + 1)
            return snapshot
        }
    }
}
