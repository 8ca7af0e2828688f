import Foundation

/// Paths an operator may override on the command line (e.g. the quickstart, or systemd's
/// `StateDirectory=`), taking precedence over router.toml.
public struct ConfigurationOverrides: Sendable, Hashable {
    public var stateDirectory: String?
    public var spoolDirectory: String?

    public init(stateDirectory: String? = nil, spoolDirectory: String? = nil) {
        self.stateDirectory = stateDirectory
        self.spoolDirectory = spoolDirectory
    }
}

/// Everything the daemon runs on, loaded and checked as a whole from `DIR/router.toml`, its route
/// files and its schema. A value: a reload builds a new one and swaps it in atomically.
public struct RouterConfiguration: Sendable {
    /// The configuration directory (absolute).
    public var directory: String
    public var stateDirectory: String
    public var spoolDirectory: String
    public var schemaFile: String
    public var routeFiles: [String]
    /// On SIGTERM, in-flight transfers get this long to finish.
    public var shutdownDrain: Duration
    /// At most one WAL checkpoint per this interval, off the writer (see WALCheckpointer).
    public var walCheckpointInterval: Duration
    /// SQLite's page cache, in KiB, for the one writer connection and for each reader (three).
    public var writerCacheKiB: Int = SQLiteReferralStore.defaultCacheKiB
    public var readerCacheKiB: Int = SQLiteReferralStore.defaultCacheKiB
    /// Where the Prometheus text-format metrics go (node_exporter's textfile collector can read it).
    public var metricsFile: String
    public var intake: IntakeSettings
    public var deliveryDefaults: DeliverySettings
    public var receipts: ReceiptSettings
    public var audit: AuditSettings
    public var alerts: AlertSettings
    public var agencies: [AgencyConfiguration]
    public var destinations: [DestinationConfiguration]
    public var routing: RoutingPolicy
    public var schema: ReferralSchema

    public func destination(_ id: String) -> DestinationConfiguration? { destinations.first { $0.id == id } }
    public func agency(_ id: String) -> AgencyConfiguration? { agencies.first { $0.id == id } }

    public var databasePath: String { (stateDirectory as NSString).appendingPathComponent("router.sqlite") }
}

extension RouterConfiguration {
    public static let fileName = "router.toml"

    /// Loads and checks the configuration in `directory`. Every problem is reported, each with its
    /// file, line and key.
    public static func load(directory: String, overrides: ConfigurationOverrides = .init()) throws(ConfigurationError) -> RouterConfiguration {
        let shownDirectory = directory
        let directory = absolutePath(directory, relativeTo: FileManager.default.currentDirectoryPath)
        let problems = ProblemLog()
        let file = try readTOML(named: fileName, in: directory, shownAs: shownDirectory)
        let root = ConfigTable.root(of: file, problems: problems)

        let router = root.table("router") ?? ConfigTable(file: file, path: "router", members: [], problems: problems)
        // Read even when overridden, so they are checked and never reported as unknown.
        let configuredState = overrides.stateDirectory == nil ? router.requiredString("state_directory") : router.string("state_directory")
        let configuredSpool = overrides.spoolDirectory == nil ? router.requiredString("spool_directory") : router.string("spool_directory")
        let stateDirectory = overrides.stateDirectory.map { absolutePath($0, relativeTo: FileManager.default.currentDirectoryPath) }
            ?? configuredState.map { absolutePath($0, relativeTo: directory) } ?? ""
        let spoolDirectory = overrides.spoolDirectory.map { absolutePath($0, relativeTo: FileManager.default.currentDirectoryPath) }
            ?? configuredSpool.map { absolutePath($0, relativeTo: directory) } ?? ""
        let schemaName = router.string("schema", default: "referral.schema.json")
        let routeNames = router.stringArray("route_files", default: ["rules.toml"])
        let shutdownDrain = router.seconds("shutdown_drain_seconds", default: 20, range: 0...3600)
        let metricsName = router.string("metrics_file", default: "metrics.prom")
        let walCheckpointInterval = router.seconds("wal_checkpoint_interval_seconds", default: 0.25, range: 0.01...10)
        let writerCacheKiB = router.integer("writer_cache_kib", default: SQLiteReferralStore.defaultCacheKiB, range: 256...1_048_576)
        let readerCacheKiB = router.integer("reader_cache_kib", default: SQLiteReferralStore.defaultCacheKiB, range: 64...1_048_576)
        router.finish()

        let intake = readIntake(root.table("intake"))
        let deliveryTable = root.table("delivery")
        let deliveryDefaults = deliveryTable.map { table in
            let settings = DeliverySettings.read(table, over: DeliverySettings())
            table.finish()
            return settings
        } ?? DeliverySettings()

        var receipts = ReceiptSettings()
        if let table = root.table("receipts") {
            receipts.enabled = table.bool("enabled", default: true)
            receipts.coalesce = table.seconds("coalesce_milliseconds", default: 200, range: 0...10_000) / 1000
            table.finish()
        }
        var audit = AuditSettings()
        if let table = root.table("audit") {
            audit.hmacKey = table.secretReference("hmac_key")
            table.finish()
        }
        var alerts = AlertSettings()
        if let table = root.table("alerts") {
            alerts.immediateUndelivered = table.seconds("immediate_undelivered_seconds", default: 300, range: 10...86400)
            alerts.repeatInterval = table.seconds("repeat_seconds", default: 300, range: 10...86400)
            table.finish()
        }

        let agencies = readAgencies(root.tables("agency"), spool: spoolDirectory, configDirectory: directory, root: root)
        let destinations = readDestinations(root.tables("destination"), defaults: deliveryDefaults, configDirectory: directory, root: root)
        root.finish()

        let schemaFile = absolutePath(schemaName, relativeTo: directory)
        let schema: ReferralSchema?
        do {
            schema = try ReferralSchema.load(path: schemaFile, maxDepth: intake.maxJSONDepth, maxBytes: intake.maxFileBytes)
        } catch {
            problems.add(ConfigurationProblem(
                file: displayName(schemaFile, in: directory, shownAs: shownDirectory), line: nil, key: "",
                message: "schema cannot be used: \(error)"))
            schema = nil
        }

        var routeFiles: [TOMLFile] = []
        var unreadableRouteFile = false
        for name in routeNames {
            do {
                routeFiles.append(try readTOML(named: name, in: directory, shownAs: shownDirectory))
            } catch {
                error.problems.forEach(problems.add)
                unreadableRouteFile = true
            }
        }
        // With a route file missing, "no rule reaches X" would be noise hiding the real problem.
        let routing = RoutingPolicy.read(files: routeFiles, destinations: destinations, schema: schema, problems: problems,
                                         checkCoverage: !unreadableRouteFile)

        guard problems.isEmpty, let schema else { throw ConfigurationError(problems: problems.problems) }
        var configuration = RouterConfiguration(
            directory: directory, stateDirectory: stateDirectory, spoolDirectory: spoolDirectory,
            schemaFile: schemaFile, routeFiles: routeNames.map { absolutePath($0, relativeTo: directory) },
            shutdownDrain: shutdownDrain, walCheckpointInterval: walCheckpointInterval, metricsFile: absolutePath(metricsName, relativeTo: stateDirectory), intake: intake, deliveryDefaults: deliveryDefaults,
            receipts: receipts, audit: audit, alerts: alerts, agencies: agencies, destinations: destinations,
            routing: routing, schema: schema)
        configuration.writerCacheKiB = writerCacheKiB
        configuration.readerCacheKiB = readerCacheKiB
        return configuration
    }

    private static func readTOML(named name: String, in directory: String, shownAs shownDirectory: String) throws(ConfigurationError) -> TOMLFile {
        let path = absolutePath(name, relativeTo: directory)
        let shown = displayName(path, in: directory, shownAs: shownDirectory)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(problems: [ConfigurationProblem(file: shown, line: nil, key: "", message: "cannot be read (missing or not permitted)")])
        }
        guard data.count <= 4 << 20 else {
            throw ConfigurationError(problems: [ConfigurationProblem(file: shown, line: nil, key: "", message: "is larger than 4 MiB")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(problems: [ConfigurationProblem(file: shown, line: nil, key: "", message: "is not valid UTF-8")])
        }
        return try TOMLFile.parse(text: text, displayName: shown)
    }

    private static func readIntake(_ table: ConfigTable?) -> IntakeSettings {
        var settings = IntakeSettings()
        guard let table else { return settings }
        settings.maxFileBytes = table.integer("max_file_bytes", default: settings.maxFileBytes, range: 1024...(64 << 20))
        settings.maxJSONDepth = table.integer("max_json_depth", default: settings.maxJSONDepth, range: 4...256)
        settings.batchMaxFiles = table.integer("batch_max_files", default: settings.batchMaxFiles, range: 1...10_000)
        settings.maxWaitingFiles = table.integer("max_waiting_files", default: settings.maxWaitingFiles, range: 1...10_000_000)
        if settings.maxWaitingFiles < settings.batchMaxFiles {
            table.problem("max_waiting_files", "must be at least batch_max_files (\(settings.batchMaxFiles)): a batch is taken from the waiting files")
        }
        settings.rescanInterval = table.seconds("rescan_interval_seconds", default: 60, range: 1...86400)
        settings.minFreeBytes = table.integer("min_free_bytes", default: settings.minFreeBytes, range: 0...(1 << 50))
        settings.pauseRetryInterval = table.seconds("pause_retry_seconds", default: 5, range: 0.1...3600)
        settings.inProgressSuffixes = table.stringArray("in_progress_suffixes", default: settings.inProgressSuffixes)
        if settings.inProgressSuffixes.contains(where: \.isEmpty) {
            table.problem("in_progress_suffixes", "an empty suffix would mark every file as in progress and stop all intake")
        }
        table.finish()
        return settings
    }

    private static func readAgencies(_ tables: [ConfigTable], spool: String, configDirectory: String, root: ConfigTable) -> [AgencyConfiguration] {
        var agencies: [AgencyConfiguration] = []
        var seen: Set<String> = []
        for table in tables {
            let id = table.requiredString("id") ?? ""
            if !id.isEmpty, !Identifier.isValid(id) { table.problem("id", "\"\(id)\" must use \(Identifier.rule)") }
            if !id.isEmpty, !seen.insert(id).inserted { table.problem("id", "agency \"\(id)\" is defined twice") }
            let description = table.string("description", default: id)
            let inbound = absolutePath(table.string("inbound", default: "inbound/\(id)"), relativeTo: spool)
            let receipts = absolutePath(table.string("receipts", default: "receipts/\(id)"), relativeTo: spool)
            let rejected = absolutePath(table.string("rejected", default: "rejected/\(id)"), relativeTo: spool)
            let mesh = table.table("mesh").flatMap { meshTable in
                defer { meshTable.finish() }
                return MESHMailboxConfiguration.read(meshTable, configDirectory: configDirectory)
            }
            table.finish()
            agencies.append(AgencyConfiguration(id: id, description: description, inboundDirectory: inbound,
                                                receiptsDirectory: receipts, rejectedDirectory: rejected, mesh: mesh))
        }
        if agencies.isEmpty { root.problem("agency", "at least one [[agency]] is required") }
        let inbound = Dictionary(grouping: agencies, by: \.inboundDirectory)
        for (folder, sharing) in inbound where sharing.count > 1 {
            root.problem("agency", "agencies \(sharing.map(\.id).joined(separator: ", ")) share the inbound folder \(folder)")
        }
        // One mailbox drained by two agencies would make each message's source agency a matter of chance.
        let mailboxes = Dictionary(grouping: agencies.filter { $0.mesh != nil }, by: { "\($0.mesh?.baseURL ?? "") \($0.mesh?.mailbox ?? "")" })
        for (_, sharing) in mailboxes where sharing.count > 1 {
            root.problem("agency", "agencies \(sharing.map(\.id).joined(separator: ", ")) share the MESH mailbox \(sharing[0].mesh?.mailbox ?? "")")
        }
        return agencies
    }

    private static func readDestinations(_ tables: [ConfigTable], defaults: DeliverySettings, configDirectory: String, root: ConfigTable) -> [DestinationConfiguration] {
        var destinations: [DestinationConfiguration] = []
        var seen: Set<String> = []
        for table in tables {
            let id = table.requiredString("id") ?? ""
            if !id.isEmpty, !Identifier.isValid(id) { table.problem("id", "\"\(id)\" must use \(Identifier.rule)") }
            if !id.isEmpty, !seen.insert(id).inserted { table.problem("id", "destination \"\(id)\" is defined twice") }
            let partnerType = table.choice("partner_type", from: PartnerType.allNames, default: nil).flatMap(PartnerType.init(rawValue:))
            let format = table.choice("format", from: PayloadFormat.allCases.map(\.rawValue), default: "json").flatMap(PayloadFormat.init(rawValue:)) ?? .json
            let description = table.string("description", default: id)
            let transportName = table.choice("transport", from: ["https", "mesh"], default: "https") ?? "https"
            let tls = readTLS(table, configDirectory: configDirectory)
            let delivery = DeliverySettings.read(table, over: defaults)
            var transport: DestinationTransport?
            switch transportName {
            case "mesh":
                transport = readMESH(table, tls: tls)
            default:
                transport = readHTTPS(table, tls: tls)
            }
            table.finish()
            guard let partnerType, let transport else { continue }
            destinations.append(DestinationConfiguration(id: id, partnerType: partnerType, format: format,
                                                         transport: transport, delivery: delivery, description: description))
        }
        if destinations.isEmpty { root.problem("destination", "at least one [[destination]] is required") }
        return destinations
    }

    static func readTLS(_ table: ConfigTable, configDirectory: String) -> TLSSettings {
        var tls = TLSSettings()
        tls.caFile = table.string("ca_file").map { absolutePath($0, relativeTo: configDirectory) }
        tls.clientCertificate = table.string("client_certificate").map { absolutePath($0, relativeTo: configDirectory) }
        tls.clientKey = table.string("client_key").map { absolutePath($0, relativeTo: configDirectory) }
        tls.clientKeyPassphrase = table.secretReference("client_key_passphrase")
        tls.pinnedPublicKeys = table.stringArray("pinned_public_keys")
        for (index, pin) in tls.pinnedPublicKeys.enumerated() where !pin.hasPrefix("sha256//") {
            table.problem("pinned_public_keys[\(index)]", "must have the form sha256//BASE64 (the SPKI SHA-256 of the partner's key)")
        }
        if (tls.clientCertificate == nil) != (tls.clientKey == nil) {
            table.problem(tls.clientCertificate == nil ? "client_key" : "client_certificate",
                          "client_certificate and client_key go together (mutual TLS)")
        }
        let verification = table.choice("tls_verification", from: ["full", "skip-for-loopback-only"], default: "full") ?? "full"
        tls.verification = TLSSettings.Verification(rawValue: verification) ?? .full
        for (key, path) in [("ca_file", tls.caFile), ("client_certificate", tls.clientCertificate), ("client_key", tls.clientKey)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                table.problem(key, "\(path) cannot be read")
            }
        }
        return tls
    }

    static func checkLoopbackOnlyVerification(_ table: ConfigTable, url: String, tls: TLSSettings, key: String) {
        if tls.verification == .skipForLoopbackOnly, !URLHost.isLoopback(url) {
            table.problem("tls_verification", "skip-for-loopback-only is refused: \(key) is not 127.0.0.1, ::1 or localhost; TLS verification cannot be switched off for a remote partner")
        }
    }

    private static func readHTTPS(_ table: ConfigTable, tls: TLSSettings) -> DestinationTransport? {
        let bearer = table.secretReference("bearer_token")
        let proxy = table.string("proxy")
        let proxyAuthority = proxy.map { text in (text.range(of: "://").map { text[$0.upperBound...] } ?? text[...]).prefix(while: { $0 != "/" }) }
        if proxyAuthority?.contains("@") == true {
            table.problem("proxy", "must not carry credentials (user:password@): keep secrets out of configuration files")
        }
        guard let url = table.requiredString("url") else { return nil }
        guard URLHost.of(url) != nil else {
            table.problem("url", "must be an https:// URL with a host (no user information)")
            return nil
        }
        checkLoopbackOnlyVerification(table, url: url, tls: tls, key: "url")
        return .https(HTTPSEndpoint(url: url, tls: tls, bearerToken: bearer, proxy: proxy))
    }

    private static func readMESH(_ table: ConfigTable, tls: TLSSettings) -> DestinationTransport? {
        let baseURL = table.requiredString("mesh_url")
        let mailbox = table.requiredString("mesh_mailbox")
        let password = table.secretReference("mesh_password")
        let sharedKey = table.secretReference("mesh_shared_key")
        let recipient = table.requiredString("mesh_recipient")
        let workflow = table.requiredString("mesh_workflow_id")
        if password == nil, !table.contains("mesh_password") { table.problem("mesh_password", "is required (credential:NAME or a file path)") }
        if sharedKey == nil, !table.contains("mesh_shared_key") { table.problem("mesh_shared_key", "is required (credential:NAME or a file path)") }
        guard let baseURL, let mailbox, let password, let sharedKey, let recipient, let workflow else { return nil }
        guard URLHost.of(baseURL) != nil else {
            table.problem("mesh_url", "must be an https:// URL with a host")
            return nil
        }
        checkLoopbackOnlyVerification(table, url: baseURL, tls: tls, key: "mesh_url")
        return .mesh(MESHEndpoint(baseURL: baseURL, mailbox: mailbox, password: password, sharedKey: sharedKey,
                                  recipient: recipient, workflowID: workflow, tls: tls))
    }
}

/// `path` made absolute against `base` and normalised.
func absolutePath(_ path: String, relativeTo base: String) -> String {
    let joined = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
    return (joined as NSString).standardizingPath
}

/// A path inside the configuration directory shown under the name the administrator gave it
/// (`routes/router.toml`), others in full.
func displayName(_ path: String, in directory: String, shownAs shownDirectory: String) -> String {
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    guard path.hasPrefix(prefix) else { return path }
    let relative = String(path.dropFirst(prefix.count))
    return shownDirectory == "." ? relative : (shownDirectory as NSString).appendingPathComponent(relative)
}
