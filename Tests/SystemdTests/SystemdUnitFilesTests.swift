import Foundation
import Testing
import TestSupport

/// The unit files parse as systemd sees them.
struct SystemdUnitFilesTests {
    @Test func serviceUnitDeclaresTheDaemonCommand() throws {
        let unit = try String(contentsOfFile: TestPaths.packageRoot + "/systemd/referral-router.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/local/bin/referral-router run --config /etc/referral-router"))
        #expect(unit.contains("ExecReload="))
    }
}
