/// The one place that decides the fate of an attempt (Postfix's `smtp_trouble.c`): delivered,
/// retried, retried slowly with an alert, or abandoned with its reason.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(status: Int)
    /// Try again after backoff; `retryAfter` is the partner's floor.
    case retry(code: String, status: Int?, retryAfter: Duration?)
    /// Nothing was (or should be) sent until an operator acts: TLS verification or pin failure,
    /// a redirect, a local configuration problem. Retried slowly, never in a hot loop.
    case retrySlowly(code: String, status: Int?, alert: String)
    /// Permanent refusal by the partner: dead-lettered with the reason.
    case deadLetter(code: String, status: Int, reason: String)
    /// Stopped by shutdown: not counted as an attempt; the delivery stays queued as it was.
    case interrupted

    /// Classifies one attempt's result.
    public static func classify(_ result: TransportResult, now: Timestamp) -> DeliveryOutcome {
        switch result {
        case .response(let status, let retryAfter, let excerpt, _):
            switch status {
            case 200...299:
                return .delivered(status: status)
            case 408, 425, 429, 500...599:
                return .retry(code: "http_\(status)", status: status, retryAfter: RetryAfter.parse(retryAfter, now: now))
            case 300...399:
                return .retrySlowly(code: "http_\(status)", status: status,
                                    alert: "Partner answered with a redirect (HTTP \(status)); redirects are never followed. Check the destination URL.")
            case 400...499:
                let detail = excerpt.isEmpty ? "" : ": \(excerpt)"
                return .deadLetter(code: "http_\(status)", status: status, reason: "Partner refused the referral with HTTP \(status)\(detail)")
            default:
                return .retry(code: "http_\(status)", status: status, retryAfter: nil)
            }
        case .failure(let failure):
            switch failure.kind {
            case .interrupted:
                return .interrupted
            case .resolve, .connect, .timeout, .lowSpeed, .send, .receive, .http2, .tlsHandshake, .other:
                return .retry(code: failure.kind.rawValue, status: nil, retryAfter: nil)
            case .tlsVerification, .pinMismatch, .clientCertificate:
                return .retrySlowly(code: failure.kind.rawValue, status: nil,
                                    alert: "TLS check failed (\(failure.kind.rawValue)): nothing was sent. Check the partner's certificate, the CA file and the pins.")
            case .insecureRefused, .configuration:
                return .retrySlowly(code: failure.kind.rawValue, status: nil,
                                    alert: "Delivery cannot be attempted (\(failure.kind.rawValue)): \(failure.message)")
            }
        }
    }

    /// Code, status, Retry-After and alert of a retry (slow retries carry an alert).
    var retryDetails: (code: String, status: Int?, retryAfter: Duration?, alert: String?) {
        switch self {
        case .retry(let code, let status, let retryAfter): (code, status, retryAfter, nil)
        case .retrySlowly(let code, let status, let alert): (code, status, nil, alert)
        case .delivered(let status): ("delivered", status, nil, nil)
        case .deadLetter(let code, let status, _): (code, status, nil, nil)
        case .interrupted: ("interrupted", nil, nil, nil)
        }
    }

    /// Whether this outcome counts as a partner failure for the circuit breaker.
    var isPartnerFailure: Bool {
        switch self {
        case .retry, .retrySlowly: true
        case .delivered, .deadLetter, .interrupted: false
        }
    }
}

/// Partner answers can echo what they were sent. Before a body excerpt is stored (never logged),
/// long digit runs and e-mail-like tokens are masked and it is cut short.
enum BodyExcerpt {
    static func sanitise(_ body: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: body.prefix(limit * 2), as: UTF8.self)
        var result = ""
        var digits = ""
        func flushDigits() {
            result += digits.count >= 6 ? String(repeating: "#", count: digits.count) : digits
            digits = ""
        }
        for character in text {
            if character.isASCIIDigit {
                digits.append(character)
                continue
            }
            flushDigits()
            if character.isNewline || character == "\t" { result.append(" ") } else if character.isASCII, character.asciiValue.map({ $0 >= 0x20 && $0 < 0x7f }) ?? false { result.append(character) }
        }
        flushDigits()
        let words = result.split(separator: " ").map { $0.contains("@") ? "[redacted]" : String($0) }
        let joined = words.joined(separator: " ")
        return joined.count > limit ? String(joined.prefix(limit)) + "…" : joined
    }
}
