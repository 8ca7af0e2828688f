import Foundation

/// A private directory tree for one router under test: configuration (router.toml written here,
/// rules.toml and the schema copied from routes/ unless given), state and spool, and test-time TLS.
public struct RouterSandbox: Sendable {
    public let root: String
    public let pki: TestPKI
    public var configDirectory: String { root + "/config" }
    public var stateDirectory: String { root + "/state" }
    public var spoolDirectory: String { root + "/spool" }

    public static let agencies = ["oakfield-primary", "riverside-medical", "northshire-police", "health-visiting", "brightside-family-support"]

    public init(prefix: String = "router") throws {
        root = try TestPaths.makeTemporaryDirectory(prefix: prefix)
        try FileManager.default.createDirectory(atPath: root + "/pki", withIntermediateDirectories: true)
        pki = try TestPKI.make(in: root + "/pki")
        try FileManager.default.createDirectory(atPath: root + "/config", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.packageRoot + "/routes/referral.schema.json",
                                         toPath: configDirectory + "/referral.schema.json")
    }

    /// Writes router.toml with one destination per entry (id, partner type, format, URL), all trusting
    /// the test CA, plus the shipped rules.toml (or `rules`). `extra` is appended to router.toml.
    public func writeConfiguration(destinations: [(id: String, partnerType: String, format: String, url: String)],
                                   delivery: String = "", extra: String = "", rules: String? = nil, drainSeconds: Int = 10) throws {
        var text = """
            [router]
            state_directory = "\(stateDirectory)"
            spool_directory = "\(spoolDirectory)"
            schema = "referral.schema.json"
            route_files = ["rules.toml"]
            shutdown_drain_seconds = \(drainSeconds)

            [intake]
            rescan_interval_seconds = 30
            min_free_bytes = 0

            [delivery]
            retry_base_seconds = 0.1
            retry_cap_seconds = 1
            breaker_failure_threshold = 1000
            \(delivery)

            """
        for agency in Self.agencies {
            text += "[[agency]]\nid = \"\(agency)\"\n\n"
        }
        for destination in destinations {
            text += """
                [[destination]]
                id = "\(destination.id)"
                partner_type = "\(destination.partnerType)"
                format = "\(destination.format)"
                url = "\(destination.url)"
                ca_file = "\(pki.caCertificate)"

                """
        }
        text += extra
        try text.write(toFile: configDirectory + "/router.toml", atomically: true, encoding: .utf8)
        let rulesText = try rules ?? String(contentsOfFile: TestPaths.packageRoot + "/routes/rules.toml", encoding: .utf8)
        try rulesText.write(toFile: configDirectory + "/rules.toml", atomically: true, encoding: .utf8)
    }

    /// The five shipped destinations pointed at the given partners' URLs (by destination id).
    public func writeShippedDestinations(urls: [String: String], delivery: String = "", extra: String = "", drainSeconds: Int = 10) throws {
        let shipped: [(String, String, String)] = [
            ("la-front-door", "local-authority", "json"), ("police-ppu", "police", "json"),
            ("health-safeguarding", "health", "fhir"), ("school-dsl", "school", "json"), ("early-help-hub", "early-help", "json"),
        ]
        try writeConfiguration(destinations: shipped.map { ($0.0, $0.1, $0.2, urls[$0.0] ?? "https://127.0.0.1:9/unused") },
                               delivery: delivery, extra: extra, drainSeconds: drainSeconds)
    }

    /// Replaces `text` in the written router.toml (e.g. a shipped default) with `replacement`. Throws
    /// if `text` is not there, so a renamed key cannot leave a test running on the default unnoticed.
    public func editRouterConfiguration(replacing text: String, with replacement: String) throws {
        let path = configDirectory + "/router.toml"
        let current = try String(contentsOfFile: path, encoding: .utf8)
        guard current.contains(text) else { throw TestSupportError("router.toml has no \"\(text)\" to replace") }
        try current.replacingOccurrences(of: text, with: replacement).write(toFile: path, atomically: true, encoding: .utf8)
    }

    public func inbound(_ agency: String) -> String { spoolDirectory + "/inbound/" + agency }
    public func receipts(_ agency: String) -> String { spoolDirectory + "/receipts/" + agency }
    public func rejected(_ agency: String) -> String { spoolDirectory + "/rejected/" + agency }

    /// Starts the daemon on this sandbox and waits (bounded) until it watches its folders.
    public func startRouter(logName: String = "router.log", environment: [String: String] = [:]) async throws -> RouterProcess {
        let process = try RouterProcess(arguments: ["run", "--config", configDirectory, "--log-level", "debug"],
                                        logFile: root + "/" + logName, environment: environment)
        let ready = await waitUntil(timeout: .seconds(30)) { process.log.contains("Referral router started.") || !process.isRunning }
        guard ready, process.isRunning else {
            throw TestSupportError("router did not start: \(process.log.suffix(2000))")
        }
        return process
    }

    /// A sample referral from routes/examples.
    public static func example(_ relativePath: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: TestPaths.packageRoot + "/routes/examples/" + relativePath) else {
            throw TestSupportError("no example \(relativePath)")
        }
        return [UInt8](data)
    }

    /// An example with its referralId replaced, so one sample can be dropped many times as distinct referrals.
    public static func example(_ relativePath: String, referralId: String) throws -> [UInt8] {
        let text = String(decoding: try example(relativePath), as: UTF8.self)
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let old = object["referralId"] as? String else { throw TestSupportError("example has no referralId") }
        return Array(text.replacingOccurrences(of: old, with: referralId).utf8)
    }

    public func remove() { TestPaths.removeDirectory(root) }
}
