// shared_mutex.hpp - a robust, process-shared pthread mutex inside a MAP_SHARED mapping made
// before the fork (the connection table and the metrics registry), and its lock guard.
//
// Robust: a worker that dies holding the lock leaves it EOWNERDEAD, not locked for ever; the
// next holder marks it consistent and goes on, so whatever the dead worker was changing must
// be harmless half-done (each user says why at its lock).
#pragma once

#include <pthread.h>

#include <cerrno>

namespace asmtpd::smtp {

// 0 or the pthread error number.
inline int init_shared_mutex(pthread_mutex_t& m) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int rc = pthread_mutex_init(&m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

class SharedMutexLock {
public:
    explicit SharedMutexLock(pthread_mutex_t& m) : m_(m) {
        if (pthread_mutex_lock(&m_) == EOWNERDEAD) pthread_mutex_consistent(&m_);
    }
    ~SharedMutexLock() { pthread_mutex_unlock(&m_); }
    SharedMutexLock(const SharedMutexLock&) = delete;
    SharedMutexLock& operator=(const SharedMutexLock&) = delete;

private:
    pthread_mutex_t& m_;
};

}  // namespace asmtpd::smtp
