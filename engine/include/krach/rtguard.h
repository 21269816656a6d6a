/* rtguard.h — hooks of the real-time hygiene build.
 *
 * With the CMake option KRACH_RT_GUARD the engine links the interposer in
 * engine/tests/rtguard/, which replaces malloc, free, mutex locks, blocking
 * system calls and the like with versions that abort (naming the function)
 * when they are called on a thread inside a guarded section. kr_rt_process
 * raises the guard around its whole body, so any such call the audio thread
 * makes fails loudly with a backtrace. In every other build the hooks compile
 * to nothing. */
#ifndef KRACH_RTGUARD_H
#define KRACH_RTGUARD_H

#ifdef KRACH_RT_GUARD
/* Defined by the interposer. Sections nest; only the calling thread is
 * guarded. */
void kr_rtguard_enter(void);
void kr_rtguard_leave(void);
#define KR_RTGUARD_ENTER() kr_rtguard_enter()
#define KR_RTGUARD_LEAVE() kr_rtguard_leave()
#else
#define KR_RTGUARD_ENTER() ((void)0)
#define KR_RTGUARD_LEAVE() ((void)0)
#endif

#endif
