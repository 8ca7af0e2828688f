import ArgumentParser
import Foundation
import JSONSchema
import ReferralRouter

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate referral files against the router's schema (or another).",
        discussion: """
            Every error is listed as line:column, JSON pointer, [keyword] and a plain message. The schema
            is compiled once for all the files. The router's configured schema always asserts formats
            (nhs-number, upn, uk-postcode, date, email, ...); with --schema the standard's default applies
            (format is an annotation) unless --assert-format is given.

            Exit status: 0 all valid, 1 any invalid, 2 usage or I/O error.

            Examples:
              referral-router validate --config routes routes/examples/valid/*.json
              referral-router validate --schema my.schema.json --assert-format --json a.json b.json
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Validate against this schema instead of the configured one.", valueName: "path"))
    var schema: String?

    @Flag(help: "With --schema: assert formats instead of treating them as annotations.")
    var assertFormat = false

    @Flag(help: "One JSON object per file (JSON lines): {file, valid, errors: [{pointer, keyword, message, line, column, schemaLocation}]}.")
    var json = false

    @Argument(help: ArgumentHelp("Referral files.", valueName: "file"))
    var files: [String] = []

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file") }
        let referralSchema: ReferralSchema
        do {
            if let schema {
                referralSchema = try ReferralSchema.load(path: schema, maxDepth: 64, maxBytes: 16 << 20, assertFormats: assertFormat)
            } else {
                referralSchema = try RouterConfiguration.load(directory: options.config).schema
            }
        } catch {
            FileHandle.standardError.write(Data("referral-router validate: \(error)\n".utf8))
            throw ExitCode(CheckExit.usage)
        }
        var anyInvalid = false
        var anyUnreadable = false
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("\(file): cannot be read\n".utf8))
                anyUnreadable = true
                continue
            }
            let issues = referralSchema.check([UInt8](data)).issues
            if !issues.isEmpty { anyInvalid = true }
            if json {
                let line: JSONValue = ["file": .string(file), "valid": .bool(issues.isEmpty), "errors": .array(issues.map(\.jsonValue))]
                print(line.jsonText())
            } else if issues.isEmpty {
                print("\(file): valid")
            } else {
                print("\(file): invalid (\(issues.count) \(issues.count == 1 ? "error" : "errors"))")
                for issue in issues {
                    print("  \(issue.position)  \(issue.pointer.isEmpty ? "(root)" : issue.pointer)  [\(issue.keyword)]  \(issue.message)")
                }
            }
        }
        if anyUnreadable { throw ExitCode(CheckExit.usage) }
        if anyInvalid { throw ExitCode(CheckExit.invalid) }
    }
}
