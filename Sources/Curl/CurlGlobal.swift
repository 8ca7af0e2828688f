import CCurl

/// libcurl's process-wide initialisation, done once before the first handle is made.
enum CurlGlobal {
    /// The CURLcode of curl_global_init (Swift runs a static initialiser exactly once, thread-safely).
    private static let initialisationCode: UInt32 = ccurl_global_init_default().rawValue

    static func initialise() throws(CurlError) {
        let code = initialisationCode
        guard code == CURLE_OK.rawValue else {
            throw CurlError(kind: .other, curlCode: Int32(bitPattern: code), message: "curl_global_init failed")
        }
    }
}
