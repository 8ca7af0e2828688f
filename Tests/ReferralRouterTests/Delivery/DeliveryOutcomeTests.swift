import Testing
@testable import ReferralRouter

@Suite("DeliveryOutcome.classify")
struct DeliveryOutcomeTests {
    static let now = Timestamp(millisecondsSinceEpoch: 784_111_777_000 - 60_000)   // a minute before the RFC 9110 example date

    private func response(_ status: Int, retryAfter: String? = nil, excerpt: String = "") -> DeliveryOutcome {
        DeliveryOutcome.classify(.response(status: status, retryAfter: retryAfter, bodyExcerpt: excerpt, remoteReference: nil), now: Self.now)
    }

    @Test(arguments: [200, 201, 202, 204, 299])
    func aTwoHundredIsDelivered(status: Int) {
        let outcome = response(status)
        #expect(outcome == .delivered(status: status))
        #expect(!outcome.isPartnerFailure)
    }

    @Test(arguments: [408, 425, 429, 500, 502, 503, 504, 599])
    func transientStatusesAreRetried(status: Int) {
        let outcome = response(status)
        #expect(outcome == .retry(code: "http_\(status)", status: status, retryAfter: nil))
        #expect(outcome.isPartnerFailure)
    }

    @Test func aTooManyRequestsCarriesItsRetryAfterSeconds() {
        #expect(response(429, retryAfter: "30") == .retry(code: "http_429", status: 429, retryAfter: .seconds(30)))
    }

    @Test func aServiceUnavailableCarriesItsRetryAfterDate() {
        #expect(response(503, retryAfter: "Sun, 06 Nov 1994 08:49:37 GMT") == .retry(code: "http_503", status: 503, retryAfter: .seconds(60)))
        #expect(response(503, retryAfter: "whenever") == .retry(code: "http_503", status: 503, retryAfter: nil))
    }

    @Test(arguments: [400, 409, 413, 415, 422, 451, 499])
    func otherClientErrorsAreDeadLetteredWithTheReason(status: Int) {
        let outcome = response(status, retryAfter: "30", excerpt: "field missing")
        #expect(outcome == .deadLetter(code: "http_\(status)", status: status,
                                       reason: "Partner refused the referral with HTTP \(status): field missing"))
        #expect(!outcome.isPartnerFailure)
    }

    @Test func aDeadLetterWithoutABodyHasAPlainReason() {
        #expect(response(422) == .deadLetter(code: "http_422", status: 422, reason: "Partner refused the referral with HTTP 422"))
    }

    @Test(arguments: [401, 403, 404, 405, 407, 421])
    func aPartnerRefusingTheRouterItselfIsRetriedSlowlyNeverDeadLettered(status: Int) {
        guard case .retrySlowly(let code, let reported, let alert) = response(status, excerpt: "token expired") else {
            Issue.record("HTTP \(status) was not retried slowly")
            return
        }
        #expect(code == "http_\(status)")
        #expect(reported == status)
        #expect(alert.contains("Nothing is abandoned"))
        #expect(response(status).isPartnerFailure)
    }

    @Test(arguments: [301, 302, 303, 307, 308])
    func aRedirectIsRetriedSlowlyWithAnAlertNeverFollowed(status: Int) {
        guard case .retrySlowly(let code, let reported, let alert) = response(status) else {
            Issue.record("HTTP \(status) was not retried slowly")
            return
        }
        #expect(code == "http_\(status)")
        #expect(reported == status)
        #expect(alert.contains("redirect"))
        #expect(response(status).isPartnerFailure)
    }

    @Test(arguments: [0, 100, 101, 199, 600, 999])
    func anUnexpectedStatusIsRetried(status: Int) {
        #expect(response(status) == .retry(code: "http_\(status)", status: status, retryAfter: nil))
    }

    private enum Fate: Equatable { case retry, retrySlowly, interrupted }

    /// Exhaustive on purpose: a new transport failure kind does not compile until it has a fate here.
    private static func expectedFate(of kind: TransportFailure.Kind) -> Fate {
        switch kind {
        case .resolve, .connect, .timeout, .lowSpeed, .send, .receive, .http2, .tlsHandshake, .other: .retry
        case .tlsVerification, .pinMismatch, .clientCertificate, .insecureRefused, .configuration: .retrySlowly
        case .interrupted: .interrupted
        }
    }

    static let allKinds: [TransportFailure.Kind] = [
        .resolve, .connect, .timeout, .lowSpeed, .send, .receive, .http2, .tlsHandshake, .tlsVerification, .pinMismatch,
        .clientCertificate, .insecureRefused, .configuration, .interrupted, .other,
    ]

    @Test(arguments: allKinds)
    func everyTransportFailureKindHasItsFate(kind: TransportFailure.Kind) {
        let outcome = DeliveryOutcome.classify(.failure(TransportFailure(kind: kind, message: "curl said no")), now: Self.now)
        switch Self.expectedFate(of: kind) {
        case .retry:
            #expect(outcome == .retry(code: kind.rawValue, status: nil, retryAfter: nil))
            #expect(outcome.isPartnerFailure)
        case .retrySlowly:
            guard case .retrySlowly(let code, let status, let alert) = outcome else {
                Issue.record("\(kind) was \(outcome)")
                return
            }
            #expect(code == kind.rawValue)
            #expect(status == nil)
            #expect(alert.contains(kind.rawValue))
            #expect(outcome.isPartnerFailure)
            #expect(outcome.retryDetails.alert == alert)
        case .interrupted:
            #expect(outcome == .interrupted)
            #expect(!outcome.isPartnerFailure)
        }
    }

    @Test func aLocalConfigurationProblemNamesItselfInTheAlert() {
        let outcome = DeliveryOutcome.classify(.failure(TransportFailure(kind: .configuration, message: "bearer token credential is missing")),
                                               now: Self.now)
        #expect(outcome.retryDetails.alert?.contains("bearer token credential is missing") == true)
    }

    @Test func retryDetailsNameTheCodeStatusAndFloor() {
        let retry = response(429, retryAfter: "5")
        #expect(retry.retryDetails.code == "http_429")
        #expect(retry.retryDetails.status == 429)
        #expect(retry.retryDetails.retryAfter == .seconds(5))
        #expect(retry.retryDetails.alert == nil)
        #expect(DeliveryOutcome.interrupted.retryDetails.code == "interrupted")
    }
}
