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
            case 401, 403, 404, 405, 407, 421:
                // The partner refuses us, not this referral: credentials, permissions or the URL are
                // wrong. Dead-lettering would abandon every queued referral over one expired token;
                // instead the destination waits, slowly retried, until an operator acts.
                return .retrySlowly(code: "http_\(status)", status: status,
                                    alert: "Partner refused the router itself (HTTP \(status)): check the destination's credentials, permissions and URL. Nothing is abandoned; deliveries wait.")
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

/// Partner answers can echo what they were sent. Before a body excerpt is stored (never logged), it
/// is reduced to printable ASCII, every run of 6 or more digits is masked — counting digits joined by
/// single separators (`943 476 5919`, `943-476-5919`) as one run — e-mail-like words are redacted,
/// and it is cut short.
enum BodyExcerpt {
    static func sanitise(_ body: [UInt8], limit: Int = 200) -> String {
        // Printable ASCII only: line breaks, tabs and non-ASCII characters (dashes, odd spaces) become
        // spaces, other control characters go. Masking below runs on this text, so nothing removed
        // here can hide a digit run (joining runs only makes them longer).
        var characters: [Character] = []
        for character in String(decoding: body.prefix(limit * 4), as: UTF8.self) {
            guard let ascii = character.asciiValue else {
                characters.append(" ")
                continue
            }
            if ascii == 0x0a || ascii == 0x0d || ascii == 0x09 {
                characters.append(" ")
            } else if ascii >= 0x20, ascii < 0x7f {
                characters.append(character)
            }
        }
        let separators: Set<Character> = [" ", "-", ".", "/", ":"]
        var index = 0
        while index < characters.count {
            guard characters[index].isASCIIDigit else {
                index += 1
                continue
            }
            // Extend over digits, and over one separator when a digit follows it.
            var end = index
            var digits = 0
            while end < characters.count {
                if characters[end].isASCIIDigit {
                    digits += 1
                    end += 1
                } else if separators.contains(characters[end]), end + 1 < characters.count, characters[end + 1].isASCIIDigit {
                    end += 1
                } else {
                    break
                }
            }
            if digits >= 6 {
                for position in index..<end where characters[position].isASCIIDigit { characters[position] = "#" }
            }
            index = end
        }
        let words = String(characters).split(separator: " ").map { $0.contains("@") ? "[redacted]" : String($0) }
        let joined = words.joined(separator: " ")
        return joined.count > limit ? String(joined.prefix(limit)) + "…" : joined
    }
}
