import Testing
@testable import ReferralRouter

@Suite("Digest")
struct DigestTests {
    @Test func sha256MatchesTheStandardVectors() {
        #expect(Digest.hex(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.hex(Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func hexIsLowerCaseTwoDigitsPerByte() {
        #expect(Digest.hex([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(Digest.hex([UInt8]()) == "")
    }

    @Test func theIdempotencyKeyIsStablePerReferralAndDestination() {
        let key = Digest.idempotencyKey(referralId: "ref-0001", destination: "la-front-door")
        #expect(key == Digest.idempotencyKey(referralId: "ref-0001", destination: "la-front-door"))
        #expect(key == "rr1-" + Digest.hex(Digest.sha256(Array("ref-0001\nla-front-door\n".utf8)).prefix(16)))
        let hash = Digest.sha256(Array("the referral".utf8))
        #expect(Digest.idempotencyKey(referralId: "ref-0001", destination: "la-front-door", contentHash: hash)
                == Digest.idempotencyKey(referralId: "ref-0001", destination: "la-front-door", contentHash: hash), "stable across retries")
        #expect(Digest.idempotencyKey(referralId: "ref-0001", destination: "la-front-door", contentHash: hash) != key,
                "a corrected resubmission under the same referralId is a new delivery")
        #expect(key.count == 4 + 32)
        #expect(key.hasPrefix("rr1-"))
        #expect(key.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func theIdempotencyKeyDiffersPerDestinationAndPerReferral() {
        let destinations = ["la-front-door", "health-mash", "police-mash", "school-nurse", "early-help"]
        let referrals = (0..<50).map { "ref-\($0)" }
        let keys = referrals.flatMap { referral in destinations.map { Digest.idempotencyKey(referralId: referral, destination: $0) } }
        #expect(Set(keys).count == referrals.count * destinations.count)
        // Joining with a separator keeps ("ab", "c") and ("a", "bc") apart.
        #expect(Digest.idempotencyKey(referralId: "ab", destination: "c") != Digest.idempotencyKey(referralId: "a", destination: "bc"))
    }

    @Test func theNameBasedUUIDIsVersion8WithTheRFCVariant() {
        for name in ["", "rr1-0123456789abcdef0123456789abcdef/Patient", "x", String(repeating: "long", count: 500)] {
            let uuid = Digest.uuid(name)
            let groups = uuid.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.map(\.count) == [8, 4, 4, 4, 12], "\(uuid)")
            #expect(uuid.allSatisfy { "0123456789abcdef-".contains($0) }, "\(uuid)")
            #expect(groups[2].first == "8", "\(uuid)")
            #expect(groups[3].first.map { "89ab".contains($0) } == true, "\(uuid)")
            #expect(uuid == Digest.uuid(name))
        }
        #expect(Digest.uuid("a/Patient") != Digest.uuid("a/Task"))
    }
}
