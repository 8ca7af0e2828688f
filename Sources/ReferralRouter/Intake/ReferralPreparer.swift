import JSONSchema
import LinuxSystem

/// Turns one inbound item (file bytes, or a refusal to read it) into an `IntakeRecord`: validation,
/// then routing. Pure given the configuration; the same code serves folders and MESH mailboxes.
struct ReferralPreparer: Sendable {
    var schema: ReferralSchema
    var router: Router

    func prepare(bytes: [UInt8], agency: String, source: ReferralSource, receivedAt: Timestamp) -> IntakeRecord {
        let hash = Digest.sha256(bytes)
        let outcome = schema.check(bytes)
        let document: JSONValue?
        switch outcome {
        case .valid(let parsed), .invalid(let parsed, _): document = parsed.root
        case .unreadable: document = nil
        }
        let (referralId, fromDocument) = Self.referralId(in: document, hash: hash, agency: agency)
        let decision: RoutingDecision
        if let document {
            decision = router.route(RoutingInput(referral: document, referralId: referralId, sourceAgency: agency,
                                                 validationIssues: outcome.issues, routedAt: receivedAt, contentHash: hash))
        } else {
            decision = Self.rejection(reasons: outcome.issues.map(\.message))
        }
        return IntakeRecord(agency: agency, source: source, contentHash: hash, referralId: referralId,
                            referralIdFromDocument: fromDocument, receivedAt: receivedAt, document: bytes,
                            decision: decision, issues: outcome.issues)
    }

    /// A file refused unread (a link, a FIFO, a directory, too large).
    func refused(_ refusal: FileReadRefusal, name: String, agency: String, receivedAt: Timestamp) -> IntakeRecord {
        let message: String = switch refusal {
        case .symbolicLink: "The file is a symbolic link. The router never follows links: write the referral as a regular file."
        case .notRegularFile(let kind): "The entry is a \(kind.rawValue), not a regular file, so it was not read."
        case .tooLarge(let size, let limit): "The file is \(size) bytes; the limit is \(limit) bytes (intake.max_file_bytes)."
        case .changedWhileReading: "The file changed while it was being read. Write it under a temporary name and rename it when complete."
        case .notFound: "The file disappeared before it could be read."
        case .system(let error): "The file could not be read (\(error.call) failed with errno \(error.errno))."
        }
        let issue = ValidationIssue(pointer: "", keyword: "file", message: message, line: nil, column: nil, schemaLocation: nil)
        // A refused entry has no content to hash: its name and the time identify it.
        let hash = Digest.sha256(Array("refused\n\(agency)\n\(name)\n\(receivedAt.millisecondsSinceEpoch)".utf8))
        return IntakeRecord(agency: agency, source: .folder(name: name), contentHash: hash,
                            referralId: "unidentified-" + Digest.hex(hash.prefix(8)), referralIdFromDocument: false,
                            receivedAt: receivedAt, document: [], decision: Self.rejection(reasons: [message]), issues: [issue])
    }

    static func rejection(reasons: [String]) -> RoutingDecision {
        RoutingDecision(receipt: .rejected, reasons: reasons, safetyNet: nil, rules: [], deliveries: [],
                        notSent: PartnerType.allCases.map { NotSent(partnerType: $0, reason: "the referral was rejected") },
                        priority: .routine)
    }

    /// The document's `referralId` when it is a UUID (as the schema requires), else one derived from
    /// the agency and the content. Only a UUID is trusted: the id names receipt files, appears in logs
    /// and MESH subjects, and an invalid referral's "id" could be anything an agency typed, a name
    /// included. (The same unidentified file from two agencies is two referrals, each with its own keys.)
    static func referralId(in document: JSONValue?, hash: [UInt8], agency: String) -> (String, Bool) {
        if let text = document?["referralId"]?.stringValue, isUUID(text) {
            return (text.lowercased(), true)
        }
        return ("unidentified-" + Digest.hex(Digest.sha256(Array(agency.utf8) + [0x0a] + hash).prefix(8)), false)
    }

    /// 8-4-4-4-12 hexadecimal digits.
    static func isUUID(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard scalars.count == 36 else { return false }
        for (index, scalar) in scalars.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard scalar == "-" else { return false }
            } else if !(("0"..."9").contains(scalar) || ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar)) {
                return false
            }
        }
        return true
    }
}
