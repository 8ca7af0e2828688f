import Foundation
import Testing
import TestSupport

/// The delivery faults of issue 6, each against the built daemon and real HTTPS partners on
/// 127.0.0.1. The suites nest here so they run one at a time: their timing bounds are generous,
/// but several daemons, partners and thousands of files at once on a small machine would make them
/// measure each other.
@Suite(.serialized)
struct DeliveryEndToEndTests {}

/// A sandboxed router whose destinations (all five shipped ones) point at the partners started for a
/// test; destinations without a partner point at a port nothing listens on.
struct DeliveryBench {
    let sandbox: RouterSandbox
    let partners: [String: TestPartner]
    let router: RouterProcess
    var state: RouterState { RouterState(sandbox: sandbox) }

    struct PartnerSetup {
        var script: String? = nil
        var serverCertificate: TestPartner.ServerCertificate = .normal
        var requireClientCertificate = false
        /// `127.0.0.1` or `::1`.
        var host = "127.0.0.1"
        /// Extra lines in the destination's table of router.toml (per-destination settings).
        var lines: [String] = []
    }

    /// Starts the partners, writes the configuration, runs `prepare` (secrets, files) and starts the
    /// router with `environment`. `lines` may use the PKI.
    static func start(prefix: String, partners setups: [String: PartnerSetup], delivery: String = "",
                      lines: (TestPKI) -> [String: [String]] = { _ in [:] },
                      environment: (RouterSandbox) -> [String: String] = { _ in [:] },
                      prepare: (RouterSandbox) throws -> Void = { _ in }) async throws -> DeliveryBench {
        let sandbox = try RouterSandbox(prefix: prefix)
        do {
            var partners: [String: TestPartner] = [:]
            for (destination, setup) in setups {
                let directory = sandbox.root + "/partner-" + destination
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                partners[destination] = try await TestPartner.start(
                    pki: sandbox.pki, directory: directory, requireClientCertificate: setup.requireClientCertificate,
                    serverCertificate: setup.serverCertificate, script: setup.script, host: setup.host, name: destination)
            }
            var allLines = lines(sandbox.pki)
            for (destination, setup) in setups { allLines[destination, default: []] += setup.lines }
            try sandbox.writeConfiguration(destinations: DestinationSpec.shipped(urls: partners.mapValues { $0.url(path: "/referrals") }, lines: allLines),
                                           delivery: delivery)
            try prepare(sandbox)
            let router = try await sandbox.startRouter(environment: environment(sandbox))
            return DeliveryBench(sandbox: sandbox, partners: partners, router: router)
        } catch {
            sandbox.remove()
            throw error
        }
    }

    subscript(_ destination: String) -> TestPartner {
        guard let partner = partners[destination] else { fatalError("no partner for \(destination) in this test") }
        return partner
    }

    /// Drops `example` with a fresh referral id into an agency's inbound folder; returns the id.
    @discardableResult
    func drop(_ example: String = "valid/minimal-safeguarding.json", agency: String = "health-visiting") throws -> String {
        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example(example, referralId: id), named: "\(id).json", into: sandbox.inbound(agency))
        return id
    }

    /// The receipt entry of one destination for a referral.
    func receiptEntry(_ id: String, agency: String = "health-visiting", destination: String = "la-front-door") -> [String: Any]? {
        (readJSONObject(sandbox.receipts(agency) + "/\(id).json")?["destinations"] as? [[String: Any]])?
            .first { $0["destination"] as? String == destination }
    }

    /// Runs `body`, then stops everything and removes the sandbox, whether `body` threw or not.
    func run(_ body: (DeliveryBench) async throws -> Void) async throws {
        do {
            try await body(self)
        } catch {
            await finish()
            throw error
        }
        await finish()
    }

    /// Stops the router (expecting a clean exit) and the partners, and removes the sandbox.
    func finish() async {
        #expect(await router.stop() == 0, "the router exits 0 on SIGTERM")
        partners.values.forEach { $0.stop() }
        sandbox.remove()
    }
}

/// Gaps in seconds between consecutive requests a partner recorded.
func arrivalGaps(_ requests: [ReceivedRequest]) -> [Double] {
    zip(requests.dropFirst(), requests).map { $0.receivedAt - $1.receivedAt }
}

/// The referral id in a delivered JSON envelope.
func envelopeReferralId(_ request: ReceivedRequest) -> String? {
    (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])?["referralId"] as? String
}
