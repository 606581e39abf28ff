// bench/machine.sh's probe: the cost of one trivial system call (getppid,
// the best of 5 rounds of 1 M) and of one loopback TCP round trip (a 64-byte
// ping-pong between two threads, TCP_NODELAY, the best of 5 rounds of 20,000).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void full(int fd, char* buf, size_t n, int writing) {
  for (size_t done = 0; done < n;) {
    ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
    if (r <= 0) die(writing ? "write" : "read");
    done += (size_t)r;
  }
}

static void* echo(void* arg) {
  int fd = *(int*)arg;
  char buf[64];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) return NULL;
    full(fd, buf, (size_t)r, 1);
  }
}

int main(void) {
  double best = 1e18;
  for (int round = 0; round < 5; round++) {
    double t0 = now_ns();
    for (int i = 0; i < 1000000; i++) syscall(SYS_getppid);
    double per = (now_ns() - t0) / 1e6;
    if (per < best) best = per;
  }
  printf("syscall:     %.0f ns (getppid, best of 5 x 1 M)\n", best);

  int lsn = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (lsn < 0 || bind(lsn, (struct sockaddr*)&a, sizeof a) || listen(lsn, 1) ||
      getsockname(lsn, (struct sockaddr*)&a, &len))
    die("listen");
  int cli = socket(AF_INET, SOCK_STREAM, 0);
  if (cli < 0 || connect(cli, (struct sockaddr*)&a, sizeof a)) die("connect");
  int srv = accept(lsn, NULL, NULL);
  int one = 1;
  setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pthread_t th;
  pthread_create(&th, NULL, echo, &srv);
  char msg[64] = {0};
  best = 1e18;
  for (int round = 0; round < 5; round++) {
    double t0 = now_ns();
    for (int i = 0; i < 20000; i++) {
      full(cli, msg, sizeof msg, 1);
      full(cli, msg, sizeof msg, 0);
    }
    double per = (now_ns() - t0) / 20000 / 1e3;
    if (per < best) best = per;
  }
  printf("tcp rtt:     %.1f us (loopback, 64 bytes each way, two threads, best of 5 x 20,000)\n", best);
  close(cli);
  pthread_join(th, NULL);
  return 0;
}
