// Lock rules the compiler checks: a mutex and a scoped lock annotated for Clang's thread
// safety analysis (-Wthread-safety, the `clang-tsa` preset the test command builds), and the
// annotation macros. With other compilers the macros are empty and these are std::mutex
// and std::unique_lock.
//
//   Mutex mu_;                      GUARDED_BY(mu_) on the state it protects
//   MutexLock lk(mu_);              held until lk goes out of scope; lk.unlock()/lk.lock()
//   cv.wait(lk.native(), pred);     the predicate lambda is annotated REQUIRES(mu_)
//   void f() REQUIRES(mu_);         callers must hold it;  EXCLUDES(mu_): must not
#pragma once
#include <mutex>

#if defined(__clang__)
#define NM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define NM_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) NM_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY NM_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) NM_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) NM_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_AFTER(...) NM_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) NM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) NM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) NM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) NM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS NM_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace nm {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

// Held from construction to destruction, released and taken again in between as needed
// (a std::unique_lock the analysis can follow); native() is for condition variables.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  void lock() ACQUIRE() { lock_.lock(); }
  void unlock() RELEASE() { lock_.unlock(); }
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace nm
