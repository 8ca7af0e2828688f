import CCurl
import LinuxSystem

#if canImport(Glibc)
import Glibc
#endif

/// The loop thread's own state: the multi and share handles, the running transfers and the pool
/// of idle easy handles. Made on the caller's thread, then owned by the loop thread alone; it
/// reaches that thread as a raw pointer through pthread_create, so no other thread keeps a
/// reference to it.
final class CurlEventLoop {
    private let handOff: TransferHandOff
    private let multi: UnsafeMutableRawPointer
    private let share: UnsafeMutableRawPointer
    private let configuration: HTTPClient.Configuration
    private var running: [UnsafeMutableRawPointer: Transfer] = [:]
    private var runningByID: [UInt64: UnsafeMutableRawPointer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []

    /// How long one curl_multi_poll may sleep; curl wakes earlier for its own timeouts,
    /// for socket activity and for curl_multi_wakeup.
    private static let pollTimeoutMilliseconds: Int32 = 1000

    init(handOff: TransferHandOff, multi: UnsafeMutableRawPointer, share: UnsafeMutableRawPointer, configuration: HTTPClient.Configuration) {
        self.handOff = handOff
        self.multi = multi
        self.share = share
        self.configuration = configuration
    }

    /// What the loop thread is called in `top -H`, `ps -L`, /proc and perf.
    static let threadName = "rr-curl"

    /// Starts the loop thread, which takes over `loop`.
    static func start(_ loop: CurlEventLoop) -> Bool {
        let context = Unmanaged.passRetained(loop).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            let loop = Unmanaged<CurlEventLoop>.fromOpaque(context).takeRetainedValue()
            CurrentProcess.nameCurrentThread(CurlEventLoop.threadName)
            loop.run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<CurlEventLoop>.fromOpaque(context).release()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// A caller to answer: a transfer that ran (or was set up), or a request that never started.
    private enum Answer {
        case transfer(Transfer, Result<HTTPResponse, CurlError>)
        case unstarted(TransferHandOff.Submission, Result<HTTPResponse, CurlError>)

        var id: UInt64 {
            switch self {
            case .transfer(let transfer, _): transfer.id
            case .unstarted(let submission, _): submission.id
            }
        }

        func resume() {
            switch self {
            case .transfer(let transfer, let result): transfer.resume(result)
            case .unstarted(let submission, let result): submission.continuation.resume(returning: result)
            }
        }
    }

    private static let cancelled = Result<HTTPResponse, CurlError>.failure(CurlError(kind: .cancelled, message: "the task was cancelled"))

    /// The loop: take new work, drive curl, hand back finished transfers, sleep in curl_multi_poll.
    private func run() {
        var pending: [Answer] = []
        while true {
            let work = handOff.takeWork()
            if work.shutdownRequested {
                shutDown(queued: work.submissions)
                return
            }
            let cancelled = Set(work.cancellations)
            for submission in work.submissions {
                if cancelled.contains(submission.id) {
                    pending.append(.unstarted(submission, Self.cancelled))
                } else if let failed = start(submission) {
                    pending.append(failed)
                }
            }
            for id in work.cancellations {
                if let transfer = detach(id: id) {
                    pending.append(.transfer(transfer, Self.cancelled))
                }
            }

            var stillRunning: Int32 = 0
            _ = curl_multi_perform(multi, &stillRunning)
            var connections = 0
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = running[easy] else { continue }
                let outcome = transfer.outcome(code: message.pointee.data.result)
                if case .success(let response) = outcome { connections += response.newConnections }
                _ = detach(id: transfer.id)
                pending.append(.transfer(transfer, outcome))
            }
            deliver(&pending, connections: connections)

            var descriptors: Int32 = 0
            if curl_multi_poll(multi, nil, 0, Self.pollTimeoutMilliseconds, &descriptors) != CURLM_OK {
                // Should not happen; never spin if it does.
                usleep(10_000)
            }
        }
    }

    /// Forgets finished transfers in the hand-off, then resumes their callers.
    private func deliver(_ pending: inout [Answer], connections: Int) {
        guard !pending.isEmpty || connections > 0 else { return }
        handOff.finish(pending.map(\.id), connectionsOpened: connections)
        for answer in pending {
            answer.resume()
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Configures an easy handle for the submission and adds it to the multi handle.
    /// Returns the answer to give at once when it cannot start.
    private func start(_ submission: TransferHandOff.Submission) -> Answer? {
        let url: ParsedURL
        switch ParsedURL.parse(submission.request.url) {
        case .success(let parsed): url = parsed
        case .failure(let error): return .unstarted(submission, .failure(error))
        }
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            return .unstarted(submission, .failure(CurlError(kind: .other, message: "curl_easy_init failed")))
        }
        let transfer = Transfer(submission: submission, easy: easy, url: url)
        if let failure = transfer.configure(share: share, configuration: configuration) {
            recycle(easy)
            return .transfer(transfer, .failure(failure))
        }
        let added = curl_multi_add_handle(multi, easy)
        guard added == CURLM_OK else {
            recycle(easy)
            return .transfer(transfer, .failure(CurlError(
                kind: .other, message: "curl_multi_add_handle failed: \(String(cString: curl_multi_strerror(added)))")))
        }
        running[easy] = transfer
        runningByID[transfer.id] = easy
        return nil
    }

    /// Takes a transfer out of the multi handle and resets its easy handle for reuse; the
    /// caller resumes it.
    private func detach(id: UInt64) -> Transfer? {
        guard let easy = runningByID.removeValue(forKey: id), let transfer = running.removeValue(forKey: easy) else {
            return nil
        }
        _ = curl_multi_remove_handle(multi, easy)
        recycle(easy)
        return transfer
    }

    /// Resets an easy handle (dropping every pointer it held into a transfer) and keeps it
    /// for the next request, up to the connection limit; the rest are freed.
    private func recycle(_ easy: UnsafeMutableRawPointer) {
        curl_easy_reset(easy)
        if idleHandles.count < max(1, configuration.maxTotalConnections) {
            idleHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }

    /// Fails everything with `.shutdown` and frees every curl handle.
    private func shutDown(queued: [TransferHandOff.Submission]) {
        let shutdown = Result<HTTPResponse, CurlError>.failure(CurlError(kind: .shutdown, message: "the HTTP client was shut down"))
        var pending: [Answer] = queued.map { .unstarted($0, shutdown) }
        for id in Array(runningByID.keys) {
            if let transfer = detach(id: id) { pending.append(.transfer(transfer, shutdown)) }
        }
        deliver(&pending, connections: 0)
        for submission in handOff.finishLoop() {
            submission.continuation.resume(returning: shutdown)
        }
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles.removeAll()
        curl_multi_cleanup(multi)
        curl_share_cleanup(share)
    }
}
