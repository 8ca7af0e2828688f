import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// 400, 413 and 422 are permanent: dead-lettered on the first answer, with the status and a
    /// sanitised excerpt stored for the operator, only the code in the audit, and `status` alerting.
    @Suite struct DeadLetters {
        /// A refusal that echoes what a partner might: an NHS number, a phone number, an e-mail address.
        static let refusal = "Refused: child NHS 943 476 5919, call 0161-496-0000 or jane.doe@example.org; field dateOfBirth invalid"

        @Test(arguments: [400, 413, 422])
        func aPermanentRefusalIsDeadLetteredWithItsReason(status: Int) async throws {
            let body = Self.refusal.replacingOccurrences(of: "\"", with: "")
            let bench = try await DeliveryBench.start(prefix: "dl-dead-\(status)", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": \#(status), "body": "\#(body)"}]}"#),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                _ = try await bench["la-front-door"].waitForRequests(count: 1, timeout: .seconds(30))
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "failed" }, "the receipt shows the delivery failed")
                let entry = try #require(bench.receiptEntry(id))
                #expect(entry["attempts"] as? Int == 1)
                let shown = try #require(entry["lastError"] as? String)
                #expect(shown.contains("HTTP \(status)"))

                // The stored reason: the status and the excerpt with numbers and addresses masked.
                let rows = try bench.state.query("SELECT state, attempts, last_status, last_error FROM delivery WHERE destination = 'la-front-door'")
                let row = try #require(rows.first)
                #expect(rows.count == 1)
                #expect(row["state"] as? String == "dead")
                #expect(row["attempts"] as? Int == 1)
                #expect(row["last_status"] as? Int == status)
                let reason = try #require(row["last_error"] as? String)
                #expect(reason.contains("HTTP \(status)"))
                #expect(reason.contains("Refused: child NHS"), "the excerpt is kept: \(reason)")
                #expect(reason.contains("### ### ####") && reason.contains("####-###-####"), "digit runs are masked: \(reason)")
                for secret in ["943", "5919", "0161", "jane.doe", "example.org"] {
                    #expect(!reason.contains(secret), "\(secret) is not kept: \(reason)")
                    #expect(!shown.contains(secret))
                }

                // The audit holds the code and status only, never the partner's words.
                let audit = try bench.state.query("SELECT event, outcome, detail FROM audit WHERE destination = 'la-front-door' ORDER BY seq")
                let dead = try #require(audit.first { $0["outcome"] as? String == "dead-lettered" })
                let detail = try #require(dead["detail"] as? String)
                #expect(detail.contains("\"code\":\"http_\(status)\""), "audit detail: \(detail)")
                #expect(!detail.contains("Refused") && !detail.contains("NHS"), "audit detail: \(detail)")

                // The log names the code; the body never reaches it.
                #expect(logLines(bench.router.log, with: "event=dead-lettered", and: ["code=http_\(status)", "referral_id=\(id)"]).count == 1)
                #expect(!bench.router.log.contains("Refused"))

                // `status` shows the dead letter and alerts (exit 1).
                #expect(await waitUntil(timeout: .seconds(15)) {
                    (bench.state.statusJSON()?["alerts"] as? [String])?.contains { $0.contains("dead-lettered") } == true
                })
                let report = try await bench.state.statusCommand()
                #expect(report.exitCode == 1, "status exits 1 while a dead letter needs an operator")
                #expect(report.output.contains("ALERT: 1 dead-lettered deliveries need an operator"), "\(report.output)")
                let line = try #require(report.output.split(separator: "\n").first { $0.hasPrefix("la-front-door") })
                #expect(line.split(separator: " ").map(String.init).starts(with: ["la-front-door", "0", "0", "0", "1"]), "pending 0, immediate 0, delivered 0, dead 1: \(line)")

                // Permanent: never sent again.
                try await Task.sleep(for: .seconds(1))
                #expect(try bench["la-front-door"].received().count == 1)
            }
        }
    }
}
