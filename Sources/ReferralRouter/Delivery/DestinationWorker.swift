import Logging
import ServiceLifecycle

/// Delivers to one destination: takes ready work by priority up to the destination's concurrency
/// (as the circuit breaker allows), sends, records the outcome durably, and schedules retries on the
/// monotonic clock. A slow or failing partner only ever occupies its own worker.
actor DestinationWorker {
    let destination: String
    private var settings: DeliverySettings
    private var transport: any DeliveryTransport
    private let store: any ReferralStore
    private let storeCalls: DeliveryStoreCalls
    private let receipts: ReceiptWriter
    private let logger: Logger
    private let onFatal: @Sendable (StoreError) -> Void
    private var queue = DestinationQueue()
    private var breaker: CircuitBreaker
    /// Transfers on the wire now (the concurrency limit applies to these).
    private var sending = 0
    private var random = SystemRandomNumberGenerator()
    private let wake = WakeSignal()
    private var stopping = false
    private var lastExpiryWarning: ContinuousClock.Instant?
    /// No new attempt starts before this: the partner's `Retry-After` (it speaks for the whole
    /// partner, not one referral), or the slow retry after a TLS failure that only an operator can fix.
    private var pausedUntil: ContinuousClock.Instant?
    /// The last failure was one only an operator can fix (TLS verification, pin, redirect, local
    /// configuration): the next reload retries at once instead of after `tls_failure_retry_seconds`.
    private var awaitingOperator = false
    /// While the destination is paused (breaker open, Retry-After, operator wait) deliveries older than
    /// `max_age` are dead-lettered without a send, at most once per `expirySweepInterval`: otherwise
    /// only the one probe per cool-down would ever reach its age check.
    private var nextExpirySweep: ContinuousClock.Instant = .now
    private var sweepingExpired = false

    init(destination: String, settings: DeliverySettings, transport: any DeliveryTransport, store: any ReferralStore,
         storeCalls: DeliveryStoreCalls, receipts: ReceiptWriter, logger: Logger,
         onFatal: @escaping @Sendable (StoreError) -> Void) {
        self.destination = destination
        self.settings = settings
        self.transport = transport
        self.store = store
        self.storeCalls = storeCalls
        self.receipts = receipts
        self.onFatal = onFatal
        var logger = logger
        logger[metadataKey: LogKey.destination] = .string(destination)
        self.logger = logger
        self.breaker = CircuitBreaker(threshold: settings.breakerFailureThreshold, coolDown: settings.breakerCooldown)
    }

    /// Queues deliveries. A stored next-attempt time in the future (from before a restart) becomes a
    /// monotonic deadline, clamped to the retry cap so a wall-clock step cannot strand it.
    func enqueue(_ deliveries: [ScheduledDelivery]) {
        let now = ContinuousClock.now
        let wallNow = Timestamp.now()
        for delivery in deliveries {
            let waitMilliseconds = min(max(delivery.nextAttemptAt.millisecondsSinceEpoch - wallNow.millisecondsSinceEpoch, 0),
                                       Int64(settings.retryCap.seconds * 1000))
            queue.add(id: delivery.id, priority: delivery.priority, due: now + .milliseconds(waitMilliseconds), now: now)
        }
        wake.signal()
    }

    /// A reload: new settings and transport. A wait for an operator (a TLS failure) ends here, since a
    /// reload is how an operator fixes a CA file or a pin; the breaker keeps its state.
    func update(settings: DeliverySettings, transport: any DeliveryTransport) {
        self.settings = settings
        self.transport = transport
        breaker.reconfigure(threshold: settings.breakerFailureThreshold, coolDown: settings.breakerCooldown)
        if awaitingOperator {
            awaitingOperator = false
            pausedUntil = nil
            queue.promoteAll()
        }
        wake.signal()
    }

    /// Stop starting transfers; `run` returns once those in flight finish.
    func stop() {
        stopping = true
        wake.signal()
    }

    var snapshot: DestinationSnapshot {
        let notAfter = transport.certificateNotAfter
        return DestinationSnapshot(destination: destination, queued: queue.pendingCount, inFlight: queue.inFlight.count,
                                   breakerOpen: breaker.isOpen, consecutiveFailures: breaker.consecutiveFailures,
                                   certificateNotAfter: notAfter,
                                   certificateExpiresSoon: notAfter.map(certificateExpiresSoon) ?? false)
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            while true {
                if Task.isCancelled { stopping = true }
                if stopping, queue.inFlight.isEmpty { return }
                let now = ContinuousClock.now
                queue.promoteDue(now: now)
                if let until = pausedUntil, now >= until { pausedUntil = nil }
                if !stopping, pausedUntil == nil {
                    let allowed = breaker.allowedInFlight(now: now, maximum: settings.maxInFlight)
                    // Concurrency counts transfers on the wire: a slot frees as soon as the partner has
                    // answered, while the outcome is being committed (the id stays in flight until then).
                    while sending < allowed, let next = queue.takeNext() {
                        sending += 1
                        group.addTask { await self.attempt(id: next.id, priority: next.priority) }
                    }
                }
                let paused = breaker.isOpen || pausedUntil != nil
                if !stopping, paused, !sweepingExpired, queue.pendingCount > queue.inFlight.count, now >= nextExpirySweep {
                    sweepingExpired = true
                    nextExpirySweep = now + expirySweepInterval
                    group.addTask { await self.deadLetterExpired() }
                }
                // While paused, the pause is the only deadline for ready work: an open breaker whose
                // cool-down ended meanwhile stays open (nothing asks it) and its instant lies in the
                // past, which as a deadline would spin this loop. Stopping waits for the transfers.
                var deadlines: [ContinuousClock.Instant] = []
                if !stopping {
                    if queue.readyCount > 0, let blockedUntil = pausedUntil ?? breaker.reopensAt { deadlines.append(blockedUntil) }
                    if let due = queue.nextDue { deadlines.append(due) }
                    if paused, !sweepingExpired, queue.pendingCount > queue.inFlight.count { deadlines.append(nextExpirySweep) }
                }
                let timeout = deadlines.min().map { max($0 - now, .milliseconds(1)) }
                await wake.wait(timeout: timeout)
            }
        }
    }

    /// One attempt: load, send, classify, record, reschedule.
    private func attempt(id: Int64, priority: DeliveryPriority) async {
        let started = ContinuousClock.now
        var holdsSlot = true
        func releaseSlot() {
            guard holdsSlot else { return }
            holdsSlot = false
            sending -= 1
            wake.signal()
        }
        defer { releaseSlot() }
        let delivery: OutboundDelivery
        do {
            switch try await storeCalls.load.submit(id) {
            case .ready(let loaded):
                delivery = loaded
            case .notPending:
                queue.forget(id: id)
                wake.signal()
                return
            case .corrupt:
                logger.error("A queued delivery cannot be read and is set aside.", metadata: [LogKey.code: "corrupt_record", "delivery_id": .stringConvertible(id)])
                queue.forget(id: id)
                wake.signal()
                return
            }
        } catch {
            let storeError = (error as? StoreError) ?? .other(String(describing: error))
            if !storeError.isTransient { onFatal(storeError) }
            queue.finish(id: id, priority: priority, retryAt: .now + settings.retryBase)
            wake.signal()
            return
        }

        let result = await transport.send(delivery)
        releaseSlot()
        let wallNow = Timestamp.now()
        let outcome = DeliveryOutcome.classify(result, now: wallNow)
        let attempt = delivery.attempts + 1
        var retryAt: ContinuousClock.Instant?
        let record: DeliveryAttemptRecord.Result
        let code: String
        let event: PipelineEvent

        switch outcome {
        case .interrupted:
            queue.finish(id: id, priority: priority, retryAt: .now)
            wake.signal()
            return
        case .delivered(let status):
            recordPartnerUp()
            pausedUntil = nil
            awaitingOperator = false
            record = .delivered(status: status, remoteReference: remoteReference(result))
            code = "delivered"
            event = .delivered(referralId: delivery.referralId, destination: destination, attempt: attempt, httpStatus: status,
                               latencyMilliseconds: Int(wallNow.millisecondsSinceEpoch - delivery.acceptedAt.millisecondsSinceEpoch))
            checkCertificateExpiry()
        case .deadLetter(let deadCode, let status, let reason):
            recordPartnerUp()   // the partner answered: it is up
            record = .deadLettered(reason: reason, status: status)
            code = deadCode
            event = .deadLettered(referralId: delivery.referralId, destination: destination, attempt: attempt, httpStatus: status, code: deadCode)
        case .retry, .retrySlowly:
            let (retryCode, status, retryAfter, alert) = outcome.retryDetails
            let wasOpen = breaker.isOpen
            if breaker.recordFailure(now: .now, startedAt: started) {
                if wasOpen {
                    // A failed probe: the alert went out when the breaker opened; one per cool-down
                    // for a partner down for days would bury every other alert.
                    logger.warning("Probe failed; the destination stays paused.",
                                   metadata: [LogKey.code: "breaker_probe_failed", LogKey.count: .stringConvertible(breaker.consecutiveFailures)])
                } else {
                    logger.record(.alert(code: "breaker_open", destination: destination,
                                         message: "Destination paused after \(breaker.consecutiveFailures) consecutive failures; one probe will be sent after \(Self.shortSeconds(settings.breakerCooldown)) s."))
                }
            }
            if let alert {
                logger.record(.alert(code: retryCode, destination: destination, message: alert))
            }
            let tooMany = settings.maxAttempts > 0 && attempt >= settings.maxAttempts
            let tooOld = wallNow.millisecondsSinceEpoch - delivery.acceptedAt.millisecondsSinceEpoch > Int64(settings.maxAge.seconds * 1000)
            if tooMany || tooOld {
                let why = tooMany ? "gave up after \(attempt) attempts" : "not delivered within \(Int(settings.maxAge.seconds / 3600)) hours"
                record = .deadLettered(reason: "\(why); last error: \(errorText(result))", status: status)
                code = tooMany ? "max_attempts" : "max_age"
                event = .deadLettered(referralId: delivery.referralId, destination: destination, attempt: attempt, httpStatus: status,
                                      code: code)
            } else {
                let delay: Duration
                if alert != nil {
                    delay = settings.tlsFailureRetry + .milliseconds(Int64.random(in: 0...1000, using: &random))
                    // Nothing can succeed until an operator acts: the whole destination waits, so a
                    // backlog does not walk through the failure one delivery at a time.
                    pause(until: .now + settings.tlsFailureRetry)
                    awaitingOperator = true
                } else {
                    delay = RetryPolicy(settings).delay(afterFailedAttempts: attempt, retryAfter: retryAfter, using: &random)
                    if let retryAfter {
                        pause(until: .now + min(max(retryAfter, .zero), settings.retryAfterMax))
                    }
                }
                retryAt = .now + delay
                record = .willRetry(at: wallNow.adding(delay), error: "\(retryCode): \(errorText(result))", status: status)
                code = retryCode
                event = .retry(referralId: delivery.referralId, destination: destination, attempt: attempt, httpStatus: status,
                               code: retryCode, delayMilliseconds: Int(delay.seconds * 1000))
            }
        }

        do {
            try await storeCalls.record.submit(DeliveryAttemptRecord(
                deliveryID: id, referralRowID: delivery.referralRowID, referralId: delivery.referralId, agency: delivery.agency,
                destination: destination, attempt: attempt, result: record, code: code, at: wallNow))
        } catch {
            let storeError = (error as? StoreError) ?? .other(String(describing: error))
            if !storeError.isTransient { onFatal(storeError) }
            // Not recorded: keep it pending in memory; the next attempt reuses the same idempotency key.
            queue.finish(id: id, priority: priority, retryAt: .now + settings.retryBase)
            wake.signal()
            return
        }
        logger.record(event)
        queue.finish(id: id, priority: priority, retryAt: retryAt)
        receipts.markDirty([delivery.referralRowID])
        wake.signal()
    }

    /// Whole seconds, or tenths below 10 s (a cool-down of 0.5 s is not \"0 s\").
    private static func shortSeconds(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds >= 10 ? String(Int(seconds)) : String(Double(Int(seconds * 10)) / 10)
    }

    private var expirySweepInterval: Duration {
        max(min(.seconds(60), settings.maxAge / 4), .milliseconds(500))
    }

    /// Dead-letters, without sending, the queued deliveries older than `max_age` (the paused case: see
    /// `nextExpirySweep`). One that cannot be recorded goes back to the queue.
    private func deadLetterExpired() async {
        defer {
            sweepingExpired = false
            wake.signal()
        }
        let cutoff = Timestamp.now().millisecondsSinceEpoch - Int64(settings.maxAge.seconds * 1000)
        let expired: [ScheduledDelivery]
        do {
            expired = try await store.pendingDeliveries().filter {
                $0.destination == destination && $0.acceptedAt.millisecondsSinceEpoch < cutoff
            }
        } catch {
            if !error.isTransient { onFatal(error) }
            return
        }
        for scheduled in expired where !queue.inFlight.contains(scheduled.id) {
            // Out of the queue first, so no attempt starts while this is recorded.
            queue.forget(id: scheduled.id)
            do {
                guard let delivery = try await store.loadDelivery(id: scheduled.id) else { continue }
                let now = Timestamp.now()
                let hours = settings.maxAge.seconds / 3600
                let age = hours >= 1 ? "\(Int(hours)) hours" : "\(max(Int(settings.maxAge.seconds), 1)) seconds"
                try await storeCalls.record.submit(DeliveryAttemptRecord(
                    deliveryID: delivery.id, referralRowID: delivery.referralRowID, referralId: delivery.referralId, agency: delivery.agency,
                    destination: destination, attempt: delivery.attempts,
                    result: .deadLettered(reason: "not delivered within \(age); the destination was paused (partner failing or an operator needed), so it was not sent again", status: nil),
                    code: "max_age", at: now))
                logger.record(.deadLettered(referralId: delivery.referralId, destination: destination, attempt: delivery.attempts,
                                            httpStatus: nil, code: "max_age"))
                receipts.markDirty([delivery.referralRowID])
            } catch {
                let storeError = (error as? StoreError) ?? .other(String(describing: error))
                if !storeError.isTransient { onFatal(storeError) }
                queue.add(id: scheduled.id, priority: scheduled.priority, due: .now + settings.retryBase, now: .now)
            }
        }
    }

    /// The partner answered: the breaker counts a success, and an operator reads that a paused
    /// destination is flowing again.
    private func recordPartnerUp() {
        let wasOpen = breaker.isOpen
        breaker.recordSuccess(maximum: settings.maxInFlight)
        if wasOpen, !breaker.isOpen {
            logger.notice("Destination resumed after a successful probe.", metadata: [LogKey.code: "breaker_closed"])
        }
    }

    /// Extends the destination's pause (never shortens it).
    private func pause(until instant: ContinuousClock.Instant) {
        if let current = pausedUntil, current >= instant { return }
        pausedUntil = instant
    }

    private func certificateExpiresSoon(_ notAfter: Timestamp) -> Bool {
        notAfter.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch < Int64(settings.certificateExpiryWarningDays) * 86_400_000
    }

    private func remoteReference(_ result: TransportResult) -> String? {
        if case .response(_, _, _, let reference) = result { return reference }
        return nil
    }

    private func errorText(_ result: TransportResult) -> String {
        switch result {
        case .response(let status, _, let excerpt, _): excerpt.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(excerpt)"
        case .failure(let failure): failure.message
        }
    }

    private func checkCertificateExpiry() {
        guard let notAfter = transport.certificateNotAfter, certificateExpiresSoon(notAfter) else { return }
        let now = ContinuousClock.now
        if let last = lastExpiryWarning, now - last < .seconds(3600) { return }
        lastExpiryWarning = now
        logger.record(.alert(code: "certificate_expiring", destination: destination,
                             message: "Partner certificate expires at \(notAfter.rfc3339), within \(settings.certificateExpiryWarningDays) days."))
    }
}

/// What `status` shows for one destination.
public struct DestinationSnapshot: Sendable, Codable {
    public var destination: String
    public var queued: Int
    public var inFlight: Int
    public var breakerOpen: Bool
    public var consecutiveFailures: Int
    public var certificateNotAfter: Timestamp?
    /// The partner's certificate expires within `certificate_expiry_warning_days`: `status` warns.
    public var certificateExpiresSoon: Bool

    init(destination: String, queued: Int, inFlight: Int, breakerOpen: Bool, consecutiveFailures: Int,
         certificateNotAfter: Timestamp?, certificateExpiresSoon: Bool) {
        self.destination = destination
        self.queued = queued
        self.inFlight = inFlight
        self.breakerOpen = breakerOpen
        self.consecutiveFailures = consecutiveFailures
        self.certificateNotAfter = certificateNotAfter
        self.certificateExpiresSoon = certificateExpiresSoon
    }

    private enum CodingKeys: String, CodingKey {
        case destination, queued, inFlight, breakerOpen, consecutiveFailures, certificateNotAfter, certificateExpiresSoon
    }

    /// A status.json written before `certificateExpiresSoon` existed still reads.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        destination = try container.decode(String.self, forKey: .destination)
        queued = try container.decode(Int.self, forKey: .queued)
        inFlight = try container.decode(Int.self, forKey: .inFlight)
        breakerOpen = try container.decode(Bool.self, forKey: .breakerOpen)
        consecutiveFailures = try container.decode(Int.self, forKey: .consecutiveFailures)
        certificateNotAfter = try container.decodeIfPresent(Timestamp.self, forKey: .certificateNotAfter)
        certificateExpiresSoon = try container.decodeIfPresent(Bool.self, forKey: .certificateExpiresSoon) ?? false
    }
}
