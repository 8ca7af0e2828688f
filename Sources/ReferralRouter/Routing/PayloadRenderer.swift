import JSONSchema

/// Routing facts that travel with every payload.
struct PayloadEnvelope: Sendable {
    var referralId: String
    var routedAt: Timestamp
    var rule: String
    var basis: String
    var basisDescription: String?
    var sourceAgency: String
    var idempotencyKey: String
    var destination: String
    var safetyNet: SafetyNetReason?
    var validationIssues: [ValidationIssue]
    /// The routing decision's priority (from `[priority]`), not whatever the projection kept.
    var priority: DeliveryPriority = .routine
}

/// Turns a projected referral into the bytes a destination receives. Built only from the projected
/// value, so a format can never reintroduce a withheld field.
enum PayloadRenderer {
    static func render(format: PayloadFormat, referral: JSONValue, envelope: PayloadEnvelope) -> [UInt8] {
        switch format {
        case .json: json(referral: referral, envelope: envelope).serialized()
        case .fhir: FHIRBundle.make(referral: referral, envelope: envelope).serialized()
        }
    }

    /// `{referralId, routedAt, rule, basis, sourceAgency, idempotencyKey, [safetyNet], referral}`.
    static func json(referral: JSONValue, envelope: PayloadEnvelope) -> JSONValue {
        var object = JSONObject()
        object["referralId"] = .string(envelope.referralId)
        object["routedAt"] = .string(envelope.routedAt.rfc3339)
        object["rule"] = .string(envelope.rule)
        object["basis"] = .string(envelope.basis)
        if let description = envelope.basisDescription { object["basisDescription"] = .string(description) }
        object["sourceAgency"] = .string(envelope.sourceAgency)
        object["idempotencyKey"] = .string(envelope.idempotencyKey)
        if let safetyNet = envelope.safetyNet {
            var flag = JSONObject()
            flag["reason"] = .string(safetyNet.rawValue)
            flag["message"] = .string(safetyNet == .invalid
                ? "Forwarded by the safety net: marked immediate but failed validation."
                : "Forwarded by the safety net: marked immediate but no routing rule sent it.")
            if !envelope.validationIssues.isEmpty {
                flag["validationErrors"] = .array(envelope.validationIssues.map { $0.json })
            }
            object["safetyNet"] = .object(flag)
        }
        object["referral"] = referral
        return .object(object)
    }
}

/// A FHIR R4 transaction Bundle: `Patient`, `ServiceRequest` (intent order, priority, reason codes)
/// and `Task`. Resource ids are name-based UUIDs of the idempotency key, so resends are identical.
enum FHIRBundle {
    static let nhsNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"
    static let referralIdSystem = "https://referral-router.dev/Id/referral-id"
    static let categorySystem = "https://referral-router.dev/CodeSystem/concern-category"
    static let idempotencySystem = "https://referral-router.dev/Id/idempotency-key"

    static func make(referral: JSONValue, envelope: PayloadEnvelope) -> JSONValue {
        let patientURL = "urn:uuid:" + Digest.uuid(envelope.idempotencyKey + "/Patient")
        let requestURL = "urn:uuid:" + Digest.uuid(envelope.idempotencyKey + "/ServiceRequest")
        let taskURL = "urn:uuid:" + Digest.uuid(envelope.idempotencyKey + "/Task")
        let child = referral["child"] ?? .null
        let priority = fhirPriority(envelope.priority)

        var patient = JSONObject()
        patient["resourceType"] = "Patient"
        if let nhs = child["nhsNumber"]?.stringValue {
            patient["identifier"] = [["system": .string(nhsNumberSystem), "value": .string(nhs.filter(\.isNumber))]]
        }
        var name = JSONObject()
        if let family = child["familyName"] { name["family"] = family }
        if let given = child["givenName"] { name["given"] = [given] }
        if !name.isEmpty { patient["name"] = [.object(name)] }
        if let birthDate = child["dateOfBirth"] { patient["birthDate"] = birthDate }
        if let sex = child["sex"]?.stringValue { patient["gender"] = .string(fhirGender(sex)) }
        if let address = child["address"] {
            var fhirAddress = JSONObject()
            if let lines = address["lines"] { fhirAddress["line"] = lines }
            if let postcode = address["postcode"] { fhirAddress["postalCode"] = postcode }
            if !fhirAddress.isEmpty { patient["address"] = [.object(fhirAddress)] }
        }
        if let gp = child["gpOdsCode"]?.stringValue {
            patient["generalPractitioner"] = [["identifier": ["system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": .string(gp)]]]
        }

        var request = JSONObject()
        request["resourceType"] = "ServiceRequest"
        request["identifier"] = [["system": .string(referralIdSystem), "value": .string(envelope.referralId)]]
        request["status"] = "active"
        request["intent"] = "order"
        request["priority"] = .string(priority)
        request["subject"] = ["reference": .string(patientURL)]
        if let categories = referral["concern"]?["categories"]?.arrayValue, !categories.isEmpty {
            request["reasonCode"] = .array(categories.map { ["coding": [["system": .string(categorySystem), "code": $0]]] })
        }
        if let submitted = referral["submittedAt"] { request["authoredOn"] = submitted }
        if let summary = referral["concern"]?["description"] { request["note"] = [["text": summary]] }
        if let agency = referral["localAuthority"] {
            var parts: [String] = []
            for key in ["team", "contactName", "email", "phone", "reference"] {
                if let text = agency[key]?.stringValue { parts.append("\(key): \(text)") }
            }
            if !parts.isEmpty {
                var notes = request["note"]?.arrayValue ?? []
                notes.append(["text": .string("Local authority contact — " + parts.joined(separator: "; "))])
                request["note"] = .array(notes)
            }
        }
        var tags: [JSONValue] = [["system": "https://referral-router.dev/CodeSystem/routing", "code": .string(envelope.rule), "display": .string(envelope.basis)]]
        if let safetyNet = envelope.safetyNet {
            tags.append(["system": "https://referral-router.dev/CodeSystem/safety-net", "code": .string(safetyNet.rawValue)])
            var notes = request["note"]?.arrayValue ?? []
            notes.insert(["text": .string(safetyNet == .invalid
                ? "Forwarded by the safety net: marked immediate but failed validation (\(envelope.validationIssues.count) errors: "
                    + envelope.validationIssues.prefix(20).map { "\($0.pointer.isEmpty ? "(document)" : $0.pointer) \($0.keyword)" }.joined(separator: "; ") + ")."
                : "Forwarded by the safety net: marked immediate but no routing rule sent it.")], at: 0)
            request["note"] = .array(notes)
        }
        request["meta"] = ["tag": .array(tags)]

        var task = JSONObject()
        task["resourceType"] = "Task"
        task["identifier"] = [["system": .string(idempotencySystem), "value": .string(envelope.idempotencyKey)]]
        task["status"] = "requested"
        task["intent"] = "order"
        task["priority"] = .string(priority)
        task["focus"] = ["reference": .string(requestURL)]
        task["for"] = ["reference": .string(patientURL)]
        task["authoredOn"] = .string(envelope.routedAt.rfc3339)
        task["requester"] = ["display": .string(envelope.sourceAgency)]

        func entry(_ url: String, _ resource: JSONObject, _ type: String) -> JSONValue {
            ["fullUrl": .string(url), "resource": .object(resource), "request": ["method": "POST", "url": .string(type)]]
        }
        var bundle = JSONObject()
        bundle["resourceType"] = "Bundle"
        bundle["id"] = .string(Digest.uuid(envelope.idempotencyKey + "/Bundle"))
        bundle["type"] = "transaction"
        bundle["timestamp"] = .string(envelope.routedAt.rfc3339)
        bundle["entry"] = [entry(patientURL, patient, "Patient"), entry(requestURL, request, "ServiceRequest"), entry(taskURL, task, "Task")]
        return .object(bundle)
    }

    /// FHIR request priority: routine | urgent | asap | stat.
    static func fhirPriority(_ priority: DeliveryPriority) -> String {
        switch priority {
        case .immediate: "stat"
        case .urgent: "urgent"
        case .routine: "routine"
        }
    }

    static func fhirGender(_ sex: String) -> String {
        switch sex {
        case "male", "female", "other", "unknown": sex
        default: "unknown"
        }
    }
}
