import Foundation
import LinuxSystem

/// A task executor with a thread of its own, for a stage that blocks in system calls or computes for
/// milliseconds at a time: reading and validating a batch, writing receipts, removing sources. On the
/// cooperative pool (one thread per core) such a stage holds a thread that every other stage's
/// continuations queue behind: a batch's commit waited ~10 ms per cycle to be scheduled at all. On a
/// thread of its own the kernel shares the cores out preemptively instead.
///
/// Run a stage on it with `withTaskExecutorPreference(executor) { await stage.run() }`: the stage's
/// nonisolated async functions run here and come back here after each `await` (a closure's own body
/// keeps its caller's isolation, so call a function). `shutdown` ends the thread once the stage has
/// returned.
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    let name: String
    // `jobs`, `stopping` and `ended` are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var ended = false

    init(name: String) {
        self.name = name
        // The thread keeps the executor alive until it ends.
        Thread { [self] in
            CurrentProcess.nameCurrentThread(name)
            serve()
        }.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        if ended {
            // A straggler after shutdown (a continuation of something the stage left running) still
            // runs, on a short-lived thread of its own: a job is never dropped.
            condition.unlock()
            let executor = asUnownedTaskExecutor()
            Thread { job.runSynchronously(on: executor) }.start()
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Ends the thread once the jobs already queued have run. The stage calls it when it has returned
    /// from `withTaskExecutorPreference`.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping { condition.wait() }
            if jobs.isEmpty {
                ended = true
                condition.unlock()
                return
            }
            let ready = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in ready { job.runSynchronously(on: executor) }
        }
    }
}
