import Glibc

/// What a directory entry is, as lstat(2) or d_type reports it (links are never followed).
public enum FileKind: String, Sendable {
    case regular, directory, symlink, fifo, socket, characterDevice, blockDevice, unknown

    /// From `st_mode`.
    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symlink
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .unknown
        }
    }

    /// From `dirent.d_type`; nil for DT_UNKNOWN (the file system does not say: ask fstatat).
    init?(directoryEntryType type: UInt8) {
        switch Int(type) {
        case DT_REG: self = .regular
        case DT_DIR: self = .directory
        case DT_LNK: self = .symlink
        case DT_FIFO: self = .fifo
        case DT_SOCK: self = .socket
        case DT_CHR: self = .characterDevice
        case DT_BLK: self = .blockDevice
        default: return nil
        }
    }
}
