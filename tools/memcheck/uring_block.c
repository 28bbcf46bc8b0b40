/* Does a thread blocked in io_uring_enter stop the other threads under valgrind?
 * A second thread waits for a completion that never comes (io_uring_enter with
 * min_complete 1); the main thread prints 5 ticks 100 ms apart and exits. Under a
 * valgrind that treats io_uring_enter as non-blocking (it keeps the big lock while
 * in the kernel), no tick after the first appears and the program hangs.
 * Build: cc -O1 -pthread -o uring_block uring_block.c */
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int ring_fd;

static void *waiter(void *arg) {
    (void)arg;
    long r = syscall(__NR_io_uring_enter, ring_fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    printf("io_uring_enter returned %ld\n", r);
    return NULL;
}

int main(void) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    ring_fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (ring_fd < 0) { perror("io_uring_setup"); return 2; }
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    for (int i = 1; i <= 5; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        printf("tick %d\n", i);
        fflush(stdout);
    }
    printf("main thread done\n");
    fflush(stdout);
    _exit(0);
}
