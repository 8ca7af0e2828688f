import Foundation
import Testing
@testable import ReferralRouter

/// check-config's policy checks: each mistake is caught and located.
struct RoutingPolicyCheckTests {
    @Test func ruleNamingAnUnknownDestination() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", #"send_to = ["la-front-door", "police-ppu"]"#, with: #"send_to = ["la-front-door", "police"]"#)
        let problem = try #require(fixture.problems().first { $0.message.contains("unknown destination \"police\"") })
        #expect(problem.key == "rule[0].send_to")
        #expect(problem.line == (try fixture.line(of: #"send_to = ["la-front-door", "police"]"#, in: "rules.toml")))
    }

    @Test func conditionOnAFieldTheSchemaDoesNotDefine() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", #"{ field = "concern.crimeSuspected", equals = true }"#,
                            with: #"{ field = "concern.crimeSuspect", equals = true }"#)
        let problem = try #require(fixture.problems().first)
        #expect(problem.message == "\"concern.crimeSuspect\" is not a field the schema defines")
        #expect(problem.key.hasPrefix("rule[0].when.any[1]"))
        #expect(problem.line == (try fixture.line(of: "any = [", in: "rules.toml")), "located at the condition's table")
    }

    @Test func allowListPathTheSchemaDoesNotDefine() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", #""child.upn", "child.school","#, with: #""child.upnn", "child.school","#)
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.message == "\"child.upnn\" is not a field the schema defines")
    }

    @Test func elementConditionsAreCheckedRelativeToTheElement() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", #"household = { field = "hasParentalResponsibility""#, with: #"household = { field = "hasParentalResp""#)
        #expect(fixture.problems().first?.message == "\"hasParentalResp\" is not a field the schema defines")
    }

    @Test func destinationNoRuleReaches() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.append(to: "router.toml", """
            [[destination]]
            id = "forgotten"
            partner_type = "health"
            url = "https://127.0.0.1:9446/x"
            """)
        let messages = fixture.problems().map(\.message)
        #expect(messages.contains("destination \"forgotten\" is reached by no rule"))
        #expect(!messages.contains { $0.contains("\"forgotten\" has no field policy") }, "the health policy covers it")
    }

    @Test func destinationWithoutAFieldPolicyIsNeverSentWholeByDefault() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", "[[fields]]\npartner_type = \"police\"", with: "[[fields]]\ndestination = \"no-such\"")
        let messages = fixture.problems().map(\.message)
        #expect(messages.contains("names unknown destination \"no-such\""))
        #expect(messages.contains { $0.hasPrefix("destination \"police-ppu\" has no field policy") })
    }

    @Test func matchedMayOnlyReadEarlierRules() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", "{ matched = \"R2\" },\n  { field = \"concern.categories\", any_of = [\"injury", with: "{ matched = \"R4\" },\n  { field = \"concern.categories\", any_of = [\"injury")
        #expect(fixture.problems().first?.message.contains("refers to rule \"R4\", which is not defined before this rule") == true)
    }

    @Test func undeclaredBasisAndMissingSafetyNet() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", "basis = \"public-task\"\nsend_to", with: "basis = \"public-interest\"\nsend_to")
        try fixture.replace(in: "rules.toml", "[safety_net]\ndestination = \"la-front-door\"\nfield = \"urgency.level\"\nvalues = [\"immediate\"]\nbasis = \"safeguarding\"", with: "")
        let messages = fixture.problems().map(\.message)
        #expect(messages.contains("\"public-interest\" is not declared under [basis.public-interest]"))
        #expect(messages.contains { $0.hasPrefix("[safety_net] is required") })
    }

    @Test func returningRuleCannotAlsoSend() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", "return = \"RETURNED\"", with: "return = \"RETURNED\"\nsend_to = [\"la-front-door\"]")
        #expect(fixture.problems().contains { $0.message.contains("a returning rule cannot also send") })
    }
}

/// Overlapping rules with conflicting stop flags.
struct StopConflictCheckTests {
    @Test func sameConditionWithDifferentStopFlagsIsReported() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.append(to: "rules.toml", """
            [[rule]]
            name = "R8"
            basis = "public-task"
            send_to = ["la-front-door"]
            stop = true
            [rule.when]
            field = "referralType"
            equals = "information-only"
            """)
        let problem = try #require(fixture.problems().first)
        #expect(problem.message == "rule R8 has the same condition as rule R7 but a different stop flag; say which is meant")
        #expect(problem.key == "rule[7].stop")
    }

    @Test func aRuleRequiringAStoppingRuleCanNeverApply() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.append(to: "rules.toml", """
            [[rule]]
            name = "R8"
            basis = "public-task"
            send_to = ["la-front-door"]
            [rule.when]
            all = [{ matched = "R6" }, { field = "referralType", equals = "information-only" }]
            """)
        #expect(fixture.problems().map(\.message) == ["rule R8 can never apply: it requires rule R6, which stops evaluation when it holds"])
    }

    @Test func intendedPrecedenceIsNotReported() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        #expect(fixture.problems().isEmpty, "R6 stopping before R7 is precedence, not a conflict")
    }
}

/// Traps a review found: each is refused with its place.
struct ConfigurationTrapTests {
    @Test func aSecondSafetyNetInAnotherRouteFileIsRefused() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.write("more.toml", "[safety_net]\ndestination = \"police-ppu\"\n")
        try fixture.replace(in: "router.toml", #"route_files = ["rules.toml"]"#, with: #"route_files = ["rules.toml", "more.toml"]"#)
        #expect(fixture.problems().contains { $0.message.hasPrefix("[safety_net] is already defined in") && $0.file.hasSuffix("more.toml") })
    }

    @Test func alwaysFalseOrderingOnUnknownFieldsEmptySuffixAndProxyCredentialsAreRefused() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", "[rule.when]\nfield = \"referralType\"\nequals = \"information-only\"", with: "when = { always = false }")
        try fixture.replace(in: "rules.toml", #""urgency.level" = ["routine", "urgent", "immediate"]"#, with: #""urgency.levels" = ["routine"]"#)
        try fixture.replace(in: "router.toml", #"in_progress_suffixes = [".tmp", ".part"]"#, with: #"in_progress_suffixes = [".tmp", ""]"#)
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9442/referrals""#, with: "url = \"https://127.0.0.1:9442/referrals\"\nproxy = \"http://user:pw@proxy:3128\"")
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9444/referrals""#, with: "url = \"https://127.0.0.1:9444/referrals\"\nproxy = \"user:pw@proxy:3128\"")
        let messages = fixture.problems().map(\.message)
        #expect(messages.contains("always takes only true (a rule that must never hold should be removed)"))
        #expect(messages.contains("\"urgency.levels\" is not a field the schema defines"))
        #expect(messages.contains { $0.hasPrefix("an empty suffix") })
        #expect(messages.filter { $0.hasPrefix("must not carry credentials") }.count == 2, "with or without a scheme")
        #expect(!messages.joined().contains("pw@"), "the credential is not echoed")
    }
}
