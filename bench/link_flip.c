/* link_flip.c — sets an interface administratively down or up, stamping the wall
 * clock just before and just after the kernel call, for the benchmarks' fault time.
 *
 *   link_flip IFNAME down|up       (run inside the namespace: ip netns exec NS ...)
 *
 * Prints "BEFORE AFTER" in seconds since the epoch with microseconds. The kernel
 * announces the change (RTM_NEWLINK) before the call returns, so the fault lies
 * between the two. `ip -ts monitor` stamps an event only when the monitor process
 * gets to read it, which under load can be later than the monitored agent's own
 * reaction; `ip link set` started from a shell adds its start-up (ms) before the
 * fault. Hence this helper. */
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "down") != 0 && strcmp(argv[2], "up") != 0) ||
        strlen(argv[1]) >= IFNAMSIZ) {
        fprintf(stderr, "usage: link_flip IFNAME down|up\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, argv[1], strlen(argv[1]));
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        perror("link_flip: SIOCGIFFLAGS");
        return 1;
    }
    if (strcmp(argv[2], "down") == 0)
        ifr.ifr_flags &= (short)~IFF_UP;
    else
        ifr.ifr_flags |= IFF_UP;
    double before = wall();
    int rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    double after = wall();
    if (rc < 0) {
        perror("link_flip: SIOCSIFFLAGS");
        return 1;
    }
    printf("%.6f %.6f\n", before, after);
    close(fd);
    return 0;
}
