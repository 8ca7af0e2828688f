/// The formats this validator knows. With `SchemaOptions.assertFormats` each is checked; any
/// other name is a compile error then.
enum FormatKind: String, Sendable, CaseIterable {
    case date, dateTime = "date-time", time, duration
    case email, idnEmail = "idn-email", hostname, idnHostname = "idn-hostname", ipv4, ipv6
    case uri, uriReference = "uri-reference", iri, iriReference = "iri-reference", uriTemplate = "uri-template"
    case uuid, jsonPointer = "json-pointer", relativeJSONPointer = "relative-json-pointer", regex
    case nhsNumber = "nhs-number", upn, ukPostcode = "uk-postcode"

    /// nil when `value` conforms (non-strings always do); else the message after the path,
    /// e.g. `"2019-02-30" is not a valid date (YYYY-MM-DD)`.
    func check(_ value: JSONValue) -> String? {
        guard case .string(let text) = value else { return nil }
        var shown: String { Evaluator.quote(text) }  // only built when the check fails
        switch self {
        case .date:
            return DateTimeFormats.isDate(text) ? nil : "\(shown) is not a valid date (YYYY-MM-DD)"
        case .dateTime:
            return DateTimeFormats.isDateTime(text)
                ? nil : "\(shown) is not a valid date-time (RFC 3339, e.g. 2024-05-01T09:30:00Z)"
        case .time:
            return DateTimeFormats.isTime(text) ? nil : "\(shown) is not a valid time (RFC 3339, e.g. 09:30:00Z)"
        case .duration:
            return DateTimeFormats.isDuration(text) ? nil : "\(shown) is not a valid duration (ISO 8601, e.g. P3DT4H)"
        case .email:
            return NetworkFormats.isEmail(text, international: false) ? nil : "\(shown) is not a valid email address"
        case .idnEmail:
            return NetworkFormats.isEmail(text, international: true) ? nil : "\(shown) is not a valid email address"
        case .hostname:
            return NetworkFormats.isHostname(text, international: false) ? nil : "\(shown) is not a valid host name"
        case .idnHostname:
            return NetworkFormats.isHostname(text, international: true) ? nil : "\(shown) is not a valid host name"
        case .ipv4:
            return NetworkFormats.isIPv4(text) ? nil : "\(shown) is not a valid IPv4 address"
        case .ipv6:
            return NetworkFormats.isIPv6(text) ? nil : "\(shown) is not a valid IPv6 address"
        case .uri:
            return URIFormats.isURI(text, requireScheme: true, international: false)
                ? nil : "\(shown) is not a valid absolute URI"
        case .uriReference:
            return URIFormats.isURI(text, requireScheme: false, international: false)
                ? nil : "\(shown) is not a valid URI reference"
        case .iri:
            return URIFormats.isURI(text, requireScheme: true, international: true) ? nil : "\(shown) is not a valid IRI"
        case .iriReference:
            return URIFormats.isURI(text, requireScheme: false, international: true)
                ? nil : "\(shown) is not a valid IRI reference"
        case .uriTemplate:
            return URIFormats.isURITemplate(text) ? nil : "\(shown) is not a valid URI template"
        case .uuid:
            return IdentifierFormats.isUUID(text) ? nil : "\(shown) is not a valid UUID"
        case .jsonPointer:
            return (try? JSONPointer(parsing: text)) != nil ? nil : "\(shown) is not a valid JSON pointer"
        case .relativeJSONPointer:
            return IdentifierFormats.isRelativeJSONPointer(text) ? nil : "\(shown) is not a valid relative JSON pointer"
        case .regex:
            return (try? ECMARegex(text)) != nil ? nil : "\(shown) is not a valid regular expression"
        case .nhsNumber:
            return IdentifierFormats.nhsNumberProblem(text).map { "\(Self.plain(text)) is not a valid NHS number: \($0)" }
        case .upn:
            return IdentifierFormats.upnProblem(text).map { "\(Self.plain(text)) is not a valid UPN: \($0)" }
        case .ukPostcode:
            return IdentifierFormats.isUKPostcode(text) ? nil : "\(shown) is not a valid UK postcode"
        }
    }

    /// Identifiers are shown unquoted (the agency's own data, in their own report), but cut short.
    private static func plain(_ text: String) -> String {
        let quoted = Evaluator.quote(text, limit: 20)
        return String(quoted.dropFirst().dropLast())
    }
}
