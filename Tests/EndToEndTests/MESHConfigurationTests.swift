import Foundation
@testable import ReferralRouter
import Testing
import TestSupport

/// `[agency.mesh]` as an administrator writes it: what is accepted, and every problem reported.
struct MESHConfigurationTests {
    static func load(agencyMesh: String) throws -> Result<RouterConfiguration, ConfigurationError> {
        let sandbox = try RouterSandbox(prefix: "mesh-config")
        defer { sandbox.remove() }
        try sandbox.writeShippedDestinations(urls: [:], extra: """

            [[agency]]
            id = "riverside-nhs-trust"

            [agency.mesh]
            \(agencyMesh)

            """)
        do {
            return .success(try RouterConfiguration.load(directory: sandbox.configDirectory))
        } catch {
            return .failure(error)
        }
    }

    static let minimal = """
        url = "https://mesh.example.nhs.uk"
        mailbox = "x26abc2"
        password = "credential:mesh-password"
        shared_key = "credential:mesh-shared-key"
        accepted_workflow_ids = ["SAFEGUARDING_REFERRAL"]
        receipt_workflow_id = "SAFEGUARDING_REFERRAL_ACK"
        """

    @Test func theDefaultsFollowTheMESHPollingRule() throws {
        let configuration = try Self.load(agencyMesh: Self.minimal).get()
        let mesh = try #require(configuration.agency("riverside-nhs-trust")?.mesh)
        #expect(mesh.pollInterval == .seconds(300), "at most once every five minutes by default")
        #expect(mesh.mailbox == "X26ABC2")
        #expect(mesh.acceptedWorkflowIDs == ["SAFEGUARDING_REFERRAL"])
        #expect(mesh.unacceptedWorkflow == .leave)
        #expect(mesh.receipts == .mesh)
        #expect(mesh.pageSize == 500)
        #expect(configuration.agency("oakfield-primary")?.mesh == nil, "folder agencies are unchanged")
    }

    @Test func aShorterIntervalNeedsTheOperatorsSayAndEveryProblemIsReported() throws {
        let failure = try Self.load(agencyMesh: """
            url = "http://mesh.example.nhs.uk"
            mailbox = "X26/ABC"
            password = "hunter2"
            accepted_workflow_ids = []
            poll_interval_seconds = 10
            unaccepted_workflow = "delete"
            colour = "blue"
            """)
        guard case .failure(let error) = failure else {
            Issue.record("a broken [agency.mesh] was accepted")
            return
        }
        let text = error.description
        #expect(text.contains("agency[5].mesh.poll_interval_seconds: is below 300"))
        #expect(text.contains("agency[5].mesh.shared_key: is required"))
        #expect(text.contains("agency[5].mesh.password: must name where the secret is kept"))
        #expect(!text.contains("hunter2"), "a pasted secret is never echoed")
        #expect(text.contains("agency[5].mesh.accepted_workflow_ids: must name at least one workflow id"))
        #expect(text.contains("agency[5].mesh.unaccepted_workflow: \"delete\" is not one of leave, acknowledge"))
        #expect(text.contains("agency[5].mesh.receipt_workflow_id: is required when receipts = \"mesh\""))
        #expect(text.contains("agency[5].mesh.colour: is not a known key here"))

        let frequent = try Self.load(agencyMesh: Self.minimal + "\npoll_interval_seconds = 10\nallow_frequent_polling = true\n").get()
        #expect(frequent.agency("riverside-nhs-trust")?.mesh?.pollInterval == .seconds(10))
    }
}
