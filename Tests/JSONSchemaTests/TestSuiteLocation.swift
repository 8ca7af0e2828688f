import Foundation

/// Finds the shared JSON-Schema-Test-Suite: `JSON_SCHEMA_TEST_SUITE`, else
/// `../shared/jsonschema-test-suite` beside the package root. The root comes from `#filePath`
/// (Tests/JSONSchemaTests/<file> → up three levels), tried both as recorded and with symlinks
/// resolved, because a dev package may reach these files through a symlink.
enum TestSuiteLocation {
    static func find(filePath: String = #filePath) -> URL? {
        let manager = FileManager.default
        if let override = ProcessInfo.processInfo.environment["JSON_SCHEMA_TEST_SUITE"], !override.isEmpty {
            let url = URL(fileURLWithPath: override)
            return manager.fileExists(atPath: url.appendingPathComponent("tests").path) ? url : nil
        }
        let recorded = URL(fileURLWithPath: filePath)
        for file in [recorded, recorded.resolvingSymlinksInPath()] {
            let root = file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let suite = root.deletingLastPathComponent().appendingPathComponent("shared/jsonschema-test-suite")
            if manager.fileExists(atPath: suite.appendingPathComponent("tests/draft2020-12").path) {
                return suite.standardizedFileURL
            }
        }
        return nil
    }
}
