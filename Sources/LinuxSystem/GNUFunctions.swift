import Glibc

/// Linux-only glibc functions that Swift's Glibc module does not declare (it imports the headers
/// without _GNU_SOURCE). They are resolved once with dlsym and called through C function pointers,
/// which keeps the C calling convention without a C shim target.
enum GNUFunctions {
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32
    typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>?, UInt32) -> Int32
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias SyncFS = @convention(c) (Int32) -> Int32
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>?) -> Int32
    typealias GetThreadName = @convention(c) (pthread_t, UnsafeMutablePointer<CChar>?, Int) -> Int32

    /// renameat2(2); glibc ≥ 2.28.
    static let renameat2: RenameAt2? = resolve("renameat2", as: RenameAt2.self)
    /// memfd_create(2); glibc ≥ 2.27.
    static let memfdCreate: MemfdCreate? = resolve("memfd_create", as: MemfdCreate.self)
    /// pipe2(2); glibc ≥ 2.9.
    static let pipe2: Pipe2? = resolve("pipe2", as: Pipe2.self)
    /// syncfs(2); glibc ≥ 2.14.
    static let syncfs: SyncFS? = resolve("syncfs", as: SyncFS.self)
    /// mallopt(3); <malloc.h> is not in Swift's Glibc module.
    static let mallopt: MallOpt? = resolve("mallopt", as: MallOpt.self)
    /// pthread_setname_np(3) and pthread_getname_np(3); glibc ≥ 2.12.
    static let setThreadName: SetThreadName? = resolve("pthread_setname_np", as: SetThreadName.self)
    static let getThreadName: GetThreadName? = resolve("pthread_getname_np", as: GetThreadName.self)
    /// M_ARENA_MAX from <malloc.h>.
    static let mallocArenaMax: Int32 = -8

    // Constants from <linux/fs.h>, <linux/memfd.h> and <fcntl.h> (values are kernel ABI).
    static let renameNoReplace: UInt32 = 1
    static let memfdCloseOnExec: UInt32 = 0x0001
    static let memfdAllowSealing: UInt32 = 0x0002
    static let fcntlAddSeals: Int32 = 1024 + 9
    static let fcntlGetSeals: Int32 = 1024 + 10
    static let sealSeal: Int32 = 0x0001
    static let sealShrink: Int32 = 0x0002
    static let sealGrow: Int32 = 0x0004
    static let sealWrite: Int32 = 0x0008

    private static func resolve<Function>(_ name: String, as type: Function.Type) -> Function? {
        // dlopen(NULL) is the global symbol scope of the process, which includes libc.
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }
}
