import Foundation

/// One `[[destination]]` for a sandbox's router.toml, with per-destination keys (delivery settings,
/// TLS material, secrets) that `RouterSandbox.writeConfiguration` cannot express.
public struct DestinationSpec: Sendable {
    public var id: String
    public var partnerType: String
    public var format: String
    public var url: String
    /// Extra `key = value` lines inside this destination's table.
    public var lines: [String]
    /// Trust the sandbox's test CA (`ca_file`); false leaves the key out so a line can set it.
    public var trustTestCA: Bool

    public init(id: String, partnerType: String, format: String = "json", url: String, lines: [String] = [], trustTestCA: Bool = true) {
        self.id = id
        self.partnerType = partnerType
        self.format = format
        self.url = url
        self.lines = lines
        self.trustTestCA = trustTestCA
    }

    /// The five shipped destinations (ids, partner types, formats) with the given URLs and lines;
    /// a destination without a URL points at a port nothing listens on.
    public static func shipped(urls: [String: String], lines: [String: [String]] = [:]) -> [DestinationSpec] {
        let shipped: [(String, String, String)] = [
            ("la-front-door", "local-authority", "json"), ("police-ppu", "police", "json"),
            ("health-safeguarding", "health", "fhir"), ("school-dsl", "school", "json"), ("early-help-hub", "early-help", "json"),
        ]
        return shipped.map { id, type, format in
            DestinationSpec(id: id, partnerType: type, format: format, url: urls[id] ?? "https://127.0.0.1:9/unused", lines: lines[id] ?? [])
        }
    }

    func toml(caFile: String) -> String {
        var text = """
            [[destination]]
            id = "\(id)"
            partner_type = "\(partnerType)"
            format = "\(format)"
            url = "\(url)"

            """
        if trustTestCA { text += "ca_file = \"\(caFile)\"\n" }
        for line in lines { text += line + "\n" }
        return text + "\n"
    }
}

extension RouterSandbox {
    /// Writes router.toml with these destinations, and rules.toml. `delivery` adds lines to
    /// `[delivery]`, which already sets retry_base_seconds, retry_cap_seconds and breaker_failure_threshold:
    /// override those per destination instead.
    /// `rules` replaces the shipped rules.toml.
    public func writeConfiguration(destinations: [DestinationSpec], delivery: String = "", rules: String? = nil, drainSeconds: Int = 10) throws {
        let blocks = destinations.map { $0.toml(caFile: pki.caCertificate) }.joined()
        try writeConfiguration(destinations: [], delivery: delivery, extra: blocks, rules: rules, drainSeconds: drainSeconds)
    }
}
