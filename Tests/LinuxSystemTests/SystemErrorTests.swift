import Glibc
import Testing
import LinuxSystem

@Suite("SystemError")
struct SystemErrorTests {
    @Test func describesCallPathAndErrno() {
        #expect(SystemError(call: "fsync", errno: EIO, path: "/var/spool/x").description
            == "fsync(/var/spool/x): Input/output error (errno 5)")
        #expect(SystemError(call: "inotify_init1", errno: EMFILE).description
            == "inotify_init1: Too many open files (errno 24)")
    }

    @Test func classifiesTheErrorsCallersActOn() {
        #expect(SystemError(call: "write", errno: ENOSPC).isNoSpace)
        #expect(SystemError(call: "write", errno: EDQUOT).isNoSpace)
        #expect(!SystemError(call: "write", errno: EIO).isNoSpace)
        #expect(SystemError(call: "fsync", errno: EIO).isIOError)
        #expect(SystemError(call: "open", errno: ENOENT).isNotFound)
        #expect(!SystemError(call: "open", errno: EACCES).isNotFound)
    }
}
