import CCurl
import Foundation

/// One request in flight on the loop thread: its easy handle's options, the buffers curl writes
/// into, and the continuation to resume. Touched only by the loop thread (curl calls the
/// callbacks from inside curl_multi_perform on that thread).
final class Transfer {
    let id: UInt64
    let request: HTTPRequest
    let easy: UnsafeMutableRawPointer
    private let url: ParsedURL
    private let continuation: CheckedContinuation<Result<HTTPResponse, CurlError>, Never>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var responseHeaders: [HTTPHeader] = []
    private var responseHeaderBytes = 0
    private var body: [UInt8] = []
    private var bodyTruncated = false
    private var isResumed = false

    /// Response headers beyond this total are dropped (curl itself caps one header at 100 KiB).
    static let maxResponseHeaderBytes = 64 * 1024

    init(submission: TransferHandOff.Submission, easy: UnsafeMutableRawPointer, url: ParsedURL) {
        id = submission.id
        request = submission.request
        continuation = submission.continuation
        self.easy = easy
        self.url = url
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        // The easy handle has been reset before the transfer is released, so curl holds no
        // pointer to these buffers any more.
        if let headerList { curl_slist_free_all(headerList) }
        errorBuffer.deallocate()
        if !isResumed {
            // A programmer error, but the caller must never wait forever for it.
            assertionFailure("a transfer was dropped without resuming its caller")
            continuation.resume(returning: .failure(CurlError(kind: .other, message: "transfer dropped")))
        }
    }

    /// Resumes the caller exactly once.
    func resume(_ result: Result<HTTPResponse, CurlError>) {
        precondition(!isResumed, "a transfer was resumed twice")
        isResumed = true
        continuation.resume(returning: result)
    }

    // MARK: Options

    /// Sets every option of the (freshly reset) easy handle. Fails with `.invalidRequest` when
    /// curl refuses an option.
    func configure(share: UnsafeMutableRawPointer, configuration: HTTPClient.Configuration) -> CurlError? {
        var options = OptionSetter(easy: easy)
        let tls = request.tls
        let limits = request.limits

        options.set(CURLOPT_ERRORBUFFER, pointer: UnsafeRawPointer(errorBuffer))
        options.set(CURLOPT_CURLU, pointer: UnsafeRawPointer(url.handle))
        options.set(CURLOPT_NOSIGNAL, 1)
        // Referral bodies are a few KB: a 16 KB upload buffer (libcurl's default is 64 KB) keeps the
        // memory of many concurrent transfers small. (The download buffer is 16 KB by default.)
        options.set(CURLOPT_UPLOAD_BUFFERSIZE, 16 * 1024)
        options.setShare(share)
        // Security: https only, also for redirects, which are never followed anyway.
        options.set(CURLOPT_PROTOCOLS_STR, "https")
        options.set(CURLOPT_REDIR_PROTOCOLS_STR, "https")
        options.set(CURLOPT_FOLLOWLOCATION, 0)
        // A proxy only when asked: "" also stops curl reading http_proxy/https_proxy/all_proxy.
        options.set(CURLOPT_PROXY, request.proxy ?? "")
        options.set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        options.set(CURLOPT_PIPEWAIT, 1)
        options.set(CURLOPT_TCP_KEEPALIVE, 1)
        options.set(CURLOPT_USERAGENT, configuration.userAgent)

        // TLS.
        options.set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        let verify = tls.verification == .full
        options.set(CURLOPT_SSL_VERIFYPEER, verify ? 1 : 0)
        options.set(CURLOPT_SSL_VERIFYHOST, verify ? 2 : 0)
        if let caFile = tls.caFile {
            options.set(CURLOPT_CAINFO, caFile)
        }
        // Never a CA directory (Debian's libcurl defaults to /etc/ssl/certs): with caFile only
        // that bundle is trusted, without it the system bundle file is (the same certificates
        // as the directory). curl caches the parsed store only when no CA path is set.
        options.set(CURLOPT_CAPATH, pointer: nil)
        options.set(CURLOPT_CA_CACHE_TIMEOUT, Self.wholeSeconds(configuration.caCacheTimeout, minimum: 0))
        if let certificate = tls.clientCertificateFile {
            options.set(CURLOPT_SSLCERT, certificate)
            options.set(CURLOPT_SSLCERTTYPE, "PEM")
        }
        if let key = tls.clientKeyFile {
            options.set(CURLOPT_SSLKEY, key)
            options.set(CURLOPT_SSLKEYTYPE, "PEM")
        }
        if let passphrase = tls.clientKeyPassphrase {
            passphrase.withString { options.set(CURLOPT_KEYPASSWD, $0) }
        }
        if !tls.pinnedPublicKeys.isEmpty {
            options.set(CURLOPT_PINNEDPUBLICKEY, tls.pinnedPublicKeys.joined(separator: ";"))
        }
        if request.collectPeerCertificateExpiry {
            // The chain is only seen in a full handshake: no reused connection, no resumed session.
            options.set(CURLOPT_CERTINFO, 1)
            options.set(CURLOPT_FRESH_CONNECT, 1)
            options.set(CURLOPT_SSL_SESSIONID_CACHE, 0)
        }

        // Limits.
        options.set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(limits.connectTimeout))
        options.set(CURLOPT_TIMEOUT_MS, Self.milliseconds(limits.totalTimeout))
        if limits.lowSpeedBytesPerSecond > 0 {
            options.set(CURLOPT_LOW_SPEED_LIMIT, limits.lowSpeedBytesPerSecond)
            options.set(CURLOPT_LOW_SPEED_TIME, Self.wholeSeconds(limits.lowSpeedWindow, minimum: 1))
        }

        // Method, headers, body.
        switch request.method {
        case .get:
            options.set(CURLOPT_HTTPGET, 1)
        case .post, .put:
            options.set(CURLOPT_POST, 1)
            options.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: curl_off_t(request.body.count))
            if request.body.isEmpty {
                options.set(CURLOPT_COPYPOSTFIELDS, "")
            } else {
                request.body.withUnsafeBytes { options.set(CURLOPT_COPYPOSTFIELDS, pointer: $0.baseAddress) }
            }
            if request.method == .put {
                options.set(CURLOPT_CUSTOMREQUEST, "PUT")
            }
        }
        headerList = makeHeaderList()
        options.set(CURLOPT_HTTPHEADER, pointer: headerList.map { UnsafeRawPointer($0) })

        // Response callbacks get this transfer back as their user data; the loop keeps it
        // alive until the transfer is removed from the multi handle.
        let context = Unmanaged.passUnretained(self).toOpaque()
        options.setCallback(CURLOPT_WRITEFUNCTION) { data, size, count, context in
            guard let context else { return 0 }
            let length = size * count
            Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().receiveBody(data, length: length)
            return length
        }
        options.set(CURLOPT_WRITEDATA, pointer: UnsafeRawPointer(context))
        options.setCallback(CURLOPT_HEADERFUNCTION) { data, size, count, context in
            guard let context else { return 0 }
            let length = size * count
            Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().receiveHeaderLine(data, length: length)
            return length
        }
        options.set(CURLOPT_HEADERDATA, pointer: UnsafeRawPointer(context))

        guard let failure = options.firstFailure else { return nil }
        return CurlError(kind: .invalidRequest, curlCode: Int32(bitPattern: failure.code.rawValue),
                         message: "curl refused option \(failure.option.rawValue): \(String(cString: curl_easy_strerror(failure.code)))")
    }

    private func makeHeaderList() -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        func append(_ line: String) {
            list = line.withCString { curl_slist_append(list, $0) } ?? list
        }
        for header in request.headers {
            // "Name;" is curl's way to send a header with an empty value.
            append(header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        if request.method != .get {
            // Small bodies go at once, without waiting for "100 Continue".
            if request.body.count < 1024 * 1024 { append("Expect:") }
            // curl would otherwise label a POST body application/x-www-form-urlencoded.
            if !request.headers.contains(where: { HTTPHeader.name($0.name, equalsLowercased: "content-type") }) { append("Content-Type:") }
        }
        return list
    }

    // MARK: Callbacks

    private func receiveBody(_ data: UnsafeMutablePointer<CChar>?, length: Int) {
        guard let data, length > 0 else { return }
        let room = max(0, request.limits.maxResponseBodyBytes - body.count)
        if length > room { bodyTruncated = true }
        let kept = min(room, length)
        guard kept > 0 else { return }
        data.withMemoryRebound(to: UInt8.self, capacity: kept) { bytes in
            body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: kept))
        }
    }

    private func receiveHeaderLine(_ data: UnsafeMutablePointer<CChar>?, length: Int) {
        guard let data, length > 0 else { return }
        let parsed = data.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            ResponseHeaderLine.parse(UnsafeBufferPointer(start: bytes, count: length))
        }
        switch parsed {
        case .statusLine:
            responseHeaders.removeAll()
            responseHeaderBytes = 0
            return
        case .ignored:
            return
        case .continuation, .header:
            break
        }
        guard responseHeaderBytes + length <= Self.maxResponseHeaderBytes else { return }
        responseHeaderBytes += length
        switch parsed {
        case .continuation(let more):
            guard var last = responseHeaders.popLast() else { return }
            last.value += " " + more
            responseHeaders.append(last)
        case .header(let name, let value):
            let sensitive = Self.sensitiveResponseHeaders.contains { HTTPHeader.name(name, equalsLowercased: $0) }
            responseHeaders.append(HTTPHeader(name, value, isSensitive: sensitive))
        case .statusLine, .ignored:
            break
        }
    }

    private static let sensitiveResponseHeaders = ["set-cookie", "authorization", "www-authenticate", "proxy-authenticate"]

    // MARK: Completion

    /// The outcome once curl reports the transfer done with `code`.
    func outcome(code: CURLcode) -> Result<HTTPResponse, CurlError> {
        guard code == CURLE_OK else {
            let message = String(cString: errorBuffer)
            return .failure(CurlError.classify(curlCode: Int32(bitPattern: code.rawValue), message: message))
        }
        var status = 0
        var version = 0
        var totalMicroseconds: curl_off_t = 0
        var connects = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        _ = ccurl_easy_getinfo_off(easy, CURLINFO_TOTAL_TIME_T, &totalMicroseconds)
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects)
        var notAfter: Date?
        if request.collectPeerCertificateExpiry {
            notAfter = CertificateExpiry.leafNotAfter(of: easy)
        }
        return .success(HTTPResponse(
            status: status,
            headers: responseHeaders,
            body: body,
            bodyTruncated: bodyTruncated,
            httpVersion: version == Int(CURL_HTTP_VERSION_2_0) ? 2 : 1,
            totalTime: .microseconds(totalMicroseconds),
            peerCertificateNotAfter: notAfter,
            newConnections: connects
        ))
    }

    // MARK: Conversions

    /// Milliseconds, at least 1 (0 would mean "no timeout" to curl).
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 1 }
        let total = seconds.multipliedReportingOverflow(by: 1000)
        guard !total.overflow else { return Int.max }
        return max(1, Int(clamping: total.partialValue + attoseconds / 1_000_000_000_000_000))
    }

    /// Whole seconds, rounded up, at least `minimum`.
    static func wholeSeconds(_ duration: Duration, minimum: Int) -> Int {
        let (seconds, attoseconds) = duration.components
        let rounded = attoseconds > 0 ? seconds + 1 : seconds
        return max(minimum, Int(clamping: rounded))
    }
}

/// Sets options on one easy handle and remembers the first one curl refused.
private struct OptionSetter {
    let easy: UnsafeMutableRawPointer
    private(set) var firstFailure: (option: CURLoption, code: CURLcode)?

    init(easy: UnsafeMutableRawPointer) {
        self.easy = easy
    }

    private mutating func note(_ option: CURLoption, _ code: CURLcode) {
        if code != CURLE_OK, firstFailure == nil { firstFailure = (option, code) }
    }

    mutating func set(_ option: CURLoption, _ value: Int) {
        note(option, ccurl_easy_setopt_long(easy, option, value))
    }

    /// String options: curl copies the text.
    mutating func set(_ option: CURLoption, _ value: String) {
        let code = value.withCString { ccurl_easy_setopt_ptr(easy, option, $0) }
        note(option, code)
    }

    mutating func set(_ option: CURLoption, pointer: UnsafeRawPointer?) {
        note(option, ccurl_easy_setopt_ptr(easy, option, pointer))
    }

    mutating func set(_ option: CURLoption, offset: curl_off_t) {
        note(option, ccurl_easy_setopt_off(easy, option, offset))
    }

    mutating func setShare(_ share: UnsafeMutableRawPointer) {
        note(CURLOPT_SHARE, ccurl_easy_setopt_share(easy, share))
    }

    mutating func setCallback(
        _ option: CURLoption,
        _ callback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int
    ) {
        note(option, ccurl_easy_setopt_write(easy, option, callback))
    }
}
