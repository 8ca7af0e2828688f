import CCurl

/// A URL parsed by libcurl's own parser (curl_url). The transfer is given this very handle
/// (CURLOPT_CURLU), so the host we check is the host curl connects to: no second parser can
/// disagree about `https://127.0.0.1@evil.example/` or `https://127.0.0.1.evil.example/`.
final class ParsedURL {
    /// The CURLU handle; owned, freed on deinit.
    let handle: OpaquePointer
    /// Lower-case scheme, e.g. "https".
    let scheme: String
    /// The host as curl will use it; IPv6 literals keep their brackets ("[::1]").
    let host: String

    private init(handle: OpaquePointer, scheme: String, host: String) {
        self.handle = handle
        self.scheme = scheme
        self.host = host
    }

    deinit {
        curl_url_cleanup(handle)
    }

    /// True for exactly 127.0.0.1, ::1 and localhost.
    var isLoopback: Bool {
        let lowered = host.lowercased()
        return lowered == "127.0.0.1" || lowered == "[::1]" || lowered == "localhost"
    }

    /// Parses `text`, accepting only https.
    static func parse(_ text: String) -> Result<ParsedURL, CurlError> {
        guard text.utf8.count <= 8 * 1024 else {
            return .failure(CurlError(kind: .invalidRequest, message: "URL longer than 8 KiB"))
        }
        guard let handle = curl_url() else {
            return .failure(CurlError(kind: .other, message: "curl_url failed (out of memory)"))
        }
        let setCode = text.withCString { curl_url_set(handle, CURLUPART_URL, $0, UInt32(CURLU_NON_SUPPORT_SCHEME)) }
        guard setCode == CURLUE_OK else {
            curl_url_cleanup(handle)
            let reason = String(cString: curl_url_strerror(setCode))
            let kind: CurlError.Kind = (setCode == CURLUE_BAD_SCHEME || setCode == CURLUE_UNSUPPORTED_SCHEME || !text.contains("://"))
                ? .unsupportedScheme : .invalidRequest
            return .failure(CurlError(kind: kind, message: "URL not accepted: \(reason)"))
        }
        guard let scheme = part(CURLUPART_SCHEME, of: handle)?.lowercased(), scheme == "https" else {
            curl_url_cleanup(handle)
            return .failure(CurlError(kind: .unsupportedScheme, message: "only https URLs are allowed"))
        }
        guard let host = part(CURLUPART_HOST, of: handle), !host.isEmpty else {
            curl_url_cleanup(handle)
            return .failure(CurlError(kind: .invalidRequest, message: "URL has no host"))
        }
        return .success(ParsedURL(handle: handle, scheme: scheme, host: host))
    }

    private static func part(_ which: CURLUPart, of handle: OpaquePointer) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, which, &value, 0) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
