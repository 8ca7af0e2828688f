/// glibc malloc tuning for a long-running daemon.
public enum MemoryAllocator {
    /// Caps the number of malloc arenas (M_ARENA_MAX). glibc creates one per thread up to 8 per core;
    /// with many short-lived worker threads their fragmentation, not live data, dominates RSS.
    /// Returns false when glibc's mallopt is unavailable (another libc).
    @discardableResult
    public static func limitArenas(to count: Int32) -> Bool {
        guard let mallopt = GNUFunctions.mallopt else { return false }
        return mallopt(GNUFunctions.mallocArenaMax, count) == 1
    }
}
