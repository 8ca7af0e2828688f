import CCurl

/// One event loop thread drives every transfer through one curl multi handle, so connections,
/// TLS sessions and the parsed CA store are reused across requests.
///
/// Requests reach the loop thread through a lock-protected queue and a curl_multi_wakeup;
/// answers come back by resuming the caller's continuation. Nothing here blocks a caller's
/// thread on I/O, and the module never logs.
///
/// Security defaults, per request: https only (redirects are never followed), TLS 1.2 or newer,
/// peer and host verification always on (see `TLSConfiguration.Verification` for the one
/// loopback-only exception), proxy environment variables ignored, no cookies.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// CURLMOPT_MAX_HOST_CONNECTIONS: more transfers to one host wait for a free connection.
        public var maxConnectionsPerHost: Int = 16
        /// CURLMOPT_MAX_TOTAL_CONNECTIONS, and the size of the connection cache.
        public var maxTotalConnections: Int = 64
        /// CURLOPT_CA_CACHE_TIMEOUT: how long a parsed CA bundle is reused.
        public var caCacheTimeout: Duration = .seconds(3600)
        public var userAgent: String = "referral-router"

        public init() {}
    }

    private let handOff: TransferHandOff

    public init(configuration: Configuration = .init()) throws(CurlError) {
        try CurlGlobal.initialise()
        guard let multi = curl_multi_init() else {
            throw CurlError(kind: .other, message: "curl_multi_init failed")
        }
        guard let share = curl_share_init() else {
            curl_multi_cleanup(multi)
            throw CurlError(kind: .other, message: "curl_share_init failed")
        }
        // TLS session ids and DNS answers are shared by every easy handle; the multi handle
        // already shares its connection cache.
        _ = ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        _ = ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX)
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(1, configuration.maxConnectionsPerHost))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max(1, configuration.maxTotalConnections))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, configuration.maxTotalConnections))

        handOff = TransferHandOff(wakeup: MultiWakeup(multi: multi))
        let loop = CurlEventLoop(handOff: handOff, multi: multi, share: share, configuration: configuration)
        guard CurlEventLoop.start(loop) else {
            _ = handOff.finishLoop()
            curl_multi_cleanup(multi)
            curl_share_cleanup(share)
            throw CurlError(kind: .other, message: "cannot start the curl event loop thread")
        }
    }

    deinit {
        shutdown()
    }

    /// Sends the request. Cancelling the calling task aborts the transfer promptly (kind .cancelled).
    public func send(_ request: HTTPRequest) async throws(CurlError) -> HTTPResponse {
        if let refusal = Self.check(request) {
            throw refusal
        }
        let handOff = self.handOff
        let id = handOff.allocateID()
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                handOff.submit(TransferHandOff.Submission(id: id, request: request, continuation: continuation))
            }
        } onCancel: {
            handOff.cancel(id)
        }
        return try result.get()
    }

    /// Aborts outstanding transfers (they fail with .shutdown), stops the thread. Idempotent.
    /// Returns at once; the loop thread answers the outstanding callers and frees curl's handles.
    public func shutdown() {
        handOff.requestShutdown()
    }

    /// Number of transfers currently running (for status).
    public var transfersInFlight: Int {
        handOff.transfersInFlight
    }

    /// New connections opened so far by successful transfers (CURLINFO_NUM_CONNECTS summed):
    /// a figure far below the request count means connections are being reused.
    public var connectionsOpened: Int {
        handOff.connectionsOpened
    }

    /// Refuses, before anything is resolved or connected, what must never be sent.
    static func check(_ request: HTTPRequest) -> CurlError? {
        let url: ParsedURL
        switch ParsedURL.parse(request.url) {
        case .success(let parsed): url = parsed
        case .failure(let error): return error
        }
        if request.tls.verification == .skipForLoopbackOnly {
            guard url.isLoopback else {
                return CurlError(kind: .insecureRefused, message: "verification may be skipped only for 127.0.0.1, ::1 or localhost")
            }
            guard request.proxy == nil else {
                return CurlError(kind: .insecureRefused, message: "verification may not be skipped through a proxy")
            }
        }
        if request.method == .get, !request.body.isEmpty {
            return CurlError(kind: .invalidRequest, message: "a GET request cannot have a body")
        }
        if let index = request.headers.firstIndex(where: { !$0.isWellFormed }) {
            return CurlError(kind: .invalidRequest, message: "header \(index) is malformed (name not a token, or CR, LF or NUL in the value)")
        }
        if request.tls.pinnedPublicKeys.contains(where: { !$0.hasPrefix("sha256//") || $0.contains(";") }) {
            return CurlError(kind: .invalidRequest, message: "a pinned public key must have the form sha256//BASE64")
        }
        return nil
    }
}
