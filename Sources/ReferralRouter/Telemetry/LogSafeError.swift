import Foundation
import LinuxSystem

/// Errors as they may appear in a log line: what failed and why, never a file name (an agency's file
/// name may hold a child's name) or any value from a referral.
enum LogSafeError {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as SystemError:
            let folder = error.path.map { " in \(($0 as NSString).deletingLastPathComponent)" } ?? ""
            return "\(error.call) failed with errno \(error.errno)\(folder)"
        case let error as StoreError:
            return "store: \(error.code)"
        case let error as FileReadRefusal:
            switch error {
            case .system(let system): return describe(system)
            default: return "file refused"
            }
        case let error as FatalErrorLatch.Raised:
            return error.safeDescription
        default:
            return String(describing: type(of: error))
        }
    }
}
