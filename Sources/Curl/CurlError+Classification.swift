import CCurl

extension CurlError {
    /// Maps a CURLcode and curl's error text to a kind. The text decides only where curl uses
    /// one code for different causes: 28 (total timeout vs low-speed abort) and TLS alerts that
    /// say the server refused our client certificate.
    static func classify(curlCode: Int32, message: String) -> CurlError {
        let code = CURLcode(rawValue: UInt32(bitPattern: curlCode))
        let text = message.isEmpty ? String(cString: curl_easy_strerror(code)) : message
        return CurlError(kind: kind(of: code, message: text), curlCode: curlCode, message: text)
    }

    private static func kind(of code: CURLcode, message: String) -> Kind {
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL:
            return .unsupportedScheme
        case CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION, CURLE_NOT_BUILT_IN, CURLE_FAILED_INIT:
            return .invalidRequest
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .resolve
        case CURLE_COULDNT_CONNECT:
            return .connect
        case CURLE_OPERATION_TIMEDOUT:
            // curl reports the low-speed abort as 28 too, with "Operation too slow. Less than ...".
            return message.contains("too slow") ? .lowSpeed : .timeout
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_INVALIDCERTSTATUS:
            return .tlsVerification
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return .pinMismatch
        case CURLE_SSL_CERTPROBLEM, CURLE_SSL_CLIENTCERT:
            return .clientCertificate
        case CURLE_SSL_CONNECT_ERROR:
            return peerRefusedClientCertificate(message) ? .clientCertificate : .tlsHandshake
        case CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED,
             CURLE_USE_SSL_FAILED, CURLE_SSL_SHUTDOWN_FAILED:
            return .tlsHandshake
        case CURLE_SEND_ERROR, CURLE_SEND_FAIL_REWIND, CURLE_READ_ERROR:
            return peerRefusedClientCertificate(message) ? .clientCertificate : .send
        case CURLE_RECV_ERROR:
            // With TLS 1.3 the client finishes its handshake before the server checks the client
            // certificate, so the server's refusal arrives as an alert on the first read.
            return peerRefusedClientCertificate(message) ? .clientCertificate : .receive
        case CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY, CURLE_BAD_CONTENT_ENCODING,
             CURLE_FILESIZE_EXCEEDED:
            return .receive
        case CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .http2
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled
        default:
            return .other
        }
    }

    /// A certificate alert received from the server is about our client certificate: the
    /// client's own verification failures come as CURLE_PEER_FAILED_VERIFICATION instead.
    private static func peerRefusedClientCertificate(_ message: String) -> Bool {
        let lowered = message.lowercased()
        let alerts = ["alert certificate required", "alert bad certificate", "alert unknown ca",
                      "alert certificate unknown", "alert certificate expired", "alert certificate revoked",
                      "alert unsupported certificate"]
        return alerts.contains { lowered.contains($0) }
    }
}
