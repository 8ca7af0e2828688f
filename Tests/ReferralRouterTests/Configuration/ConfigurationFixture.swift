import Foundation
@testable import ReferralRouter
import TestSupport

/// A copy of the shipped routes/ configuration in a temp directory, with a stand-in CA file, that a
/// test can edit before loading.
struct ConfigurationFixture {
    let directory: String

    init() throws {
        let root = try TestPaths.makeTemporaryDirectory(prefix: "config")
        directory = root + "/routes"
        let routes = TestPaths.packageRoot + "/routes"
        try FileManager.default.createDirectory(atPath: directory + "/local-tls", withIntermediateDirectories: true)
        for name in ["router.toml", "rules.toml", "referral.schema.json"] {
            try FileManager.default.copyItem(atPath: routes + "/" + name, toPath: directory + "/" + name)
        }
        try "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".write(toFile: directory + "/local-tls/ca.pem", atomically: true, encoding: .utf8)
    }

    func text(_ file: String) throws -> String { try String(contentsOfFile: directory + "/" + file, encoding: .utf8) }

    func write(_ file: String, _ text: String) throws {
        try text.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
    }

    /// Replaces the first occurrence of `old` in `file`; fails the test setup if absent.
    func replace(in file: String, _ old: String, with new: String) throws {
        let original = try text(file)
        guard let range = original.range(of: old) else { throw TestSupportError("\(old) not found in \(file)") }
        try write(file, original.replacingCharacters(in: range, with: new))
    }

    func append(to file: String, _ text: String) throws { try write(file, try self.text(file) + "\n" + text) }

    /// 1-based line of the first line containing `needle`.
    func line(of needle: String, in file: String) throws -> Int {
        let lines = try text(file).split(separator: "\n", omittingEmptySubsequences: false)
        guard let index = lines.firstIndex(where: { $0.contains(needle) }) else { throw TestSupportError("\(needle) not in \(file)") }
        return index + 1
    }

    func load() throws(ConfigurationError) -> RouterConfiguration {
        try RouterConfiguration.load(directory: directory)
    }

    /// The problems a load reports (empty if it loads).
    func problems() -> [ConfigurationProblem] {
        do {
            _ = try load()
            return []
        } catch {
            return error.problems
        }
    }

    func remove() { TestPaths.removeDirectory((directory as NSString).deletingLastPathComponent) }
}
