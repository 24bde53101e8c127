/*
 * Independent oracle for test/unit/jhash.test.ts and test/unit/maglev.test.ts.
 * jhash2 written after the Linux kernel's include/linux/jhash.h (lookup3, JHASH_INITVAL 0xdeadbeef);
 * Maglev after docs/semantics.md (NSDI 2016 population, offset/skip seeds 0x4d41474c/0x45563031).
 * Build and run:  gcc -O2 -Wall -o /tmp/known-values test/vectors/tools/known-values.c && /tmp/known-values
 * Its output is committed as known-values.out; CI (scripts/check-known-values.sh) rebuilds and reruns it and
 * compares with that file and with known-values.ts, the same lines printed from the product's TypeScript.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef uint32_t u32;
#define JHASH_INITVAL 0xdeadbeef
static inline u32 rol32(u32 w, unsigned s) { return (w << s) | (w >> ((-s) & 31)); }
#define __jhash_mix(a, b, c)                 \
  {                                          \
    a -= c; a ^= rol32(c, 4);  c += b;       \
    b -= a; b ^= rol32(a, 6);  a += c;       \
    c -= b; c ^= rol32(b, 8);  b += a;       \
    a -= c; a ^= rol32(c, 16); c += b;       \
    b -= a; b ^= rol32(a, 19); a += c;       \
    c -= b; c ^= rol32(b, 4);  b += a;       \
  }
#define __jhash_final(a, b, c)               \
  {                                          \
    c ^= b; c -= rol32(b, 14);               \
    a ^= c; a -= rol32(c, 11);               \
    b ^= a; b -= rol32(a, 25);               \
    c ^= b; c -= rol32(b, 16);               \
    a ^= c; a -= rol32(c, 4);                \
    b ^= a; b -= rol32(a, 14);               \
    c ^= b; c -= rol32(b, 24);               \
  }
static u32 jhash2(const u32 *k, u32 length, u32 initval) {
  u32 a, b, c;
  a = b = c = JHASH_INITVAL + (length << 2) + initval;
  while (length > 3) {
    a += k[0]; b += k[1]; c += k[2];
    __jhash_mix(a, b, c);
    length -= 3; k += 3;
  }
  switch (length) {
  case 3: c += k[2]; /* fallthrough */
  case 2: b += k[1]; /* fallthrough */
  case 1: a += k[0];
    __jhash_final(a, b, c);
  case 0: break;
  }
  return c;
}

#define M 65537u
static u32 ip(int a, int b, int c, int d) { return (u32)a << 24 | (u32)b << 16 | (u32)c << 8 | (u32)d; }

/* table[i] = index into ids (sorted ascending). */
static void maglev(const u32 *ids, int n, int *table) {
  u32 *off = malloc(n * 4), *skip = malloc(n * 4), *next = calloc(n, 4);
  for (int i = 0; i < n; i++) {
    off[i] = jhash2(&ids[i], 1, 0x4d41474c) % M;
    skip[i] = jhash2(&ids[i], 1, 0x45563031) % (M - 1) + 1;
  }
  for (u32 e = 0; e < M; e++) table[e] = -1;
  u32 filled = 0;
  for (;;) {
    for (int i = 0; i < n; i++) {
      u32 c = (u32)(((uint64_t)off[i] + (uint64_t)next[i] * skip[i]) % M);
      while (table[c] >= 0) { next[i]++; c = (u32)(((uint64_t)off[i] + (uint64_t)next[i] * skip[i]) % M); }
      table[c] = i; next[i]++;
      if (++filled == M) goto done;
    }
  }
done:
  free(off); free(skip); free(next);
}

static void pw(const char *name, const u32 *k, u32 n, u32 init) {
  printf("jhash2 %-28s n=%u init=0x%08x -> 0x%08x\n", name, n, init, jhash2(k, n, init));
}

/* The four 32-bit words of an IPv6 address, each read big-endian from its 16 bytes as on the wire. */
static void addr6_words(const char *text, u32 *w) {
  unsigned char b[16];
  if (inet_pton(AF_INET6, text, b) != 1) {
    fprintf(stderr, "bad IPv6 address %s\n", text);
    exit(1);
  }
  for (int i = 0; i < 4; i++)
    w[i] = ((u32)b[4 * i] << 24) | ((u32)b[4 * i + 1] << 16) | ((u32)b[4 * i + 2] << 8) | b[4 * i + 3];
}

int main(void) {
  u32 one[1] = {ip(10, 0, 0, 1)};
  u32 zero[1] = {0};
  u32 four[4] = {ip(10, 0, 0, 1), ip(10, 0, 0, 100), (12345u << 16) | 80u, 6};
  u32 three[3] = {1, 2, 3};
  u32 six[6] = {1, 2, 3, 4, 5, 6};
  u32 seven[7] = {0xffffffff, 0x80000000, 0x7fffffff, 0, 1, 0xdeadbeef, 0x12345678};
  pw("[]", one, 0, 0);
  pw("[10.0.0.1]", one, 1, 0);
  pw("[0]", zero, 1, 0);
  pw("[0] init=1", zero, 1, 1);
  pw("[tcp 10.0.0.1:12345>.100:80]", four, 4, 0);
  pw("[1,2,3]", three, 3, 0);
  pw("[1..6]", six, 6, 0);
  pw("[7 words]", seven, 7, 0x01020304);
  u32 idsForSeeds[5] = {0, 1, 2, 3, 0xffffffff};
  for (int i = 0; i < 5; i++) {
    printf("maglev id=%u offset=%u skip=%u\n", idsForSeeds[i], jhash2(&idsForSeeds[i], 1, 0x4d41474c) % M,
           jhash2(&idsForSeeds[i], 1, 0x45563031) % (M - 1) + 1);
  }
  static int table[M];
  u32 pool3[3] = {1, 2, 3};
  maglev(pool3, 3, table);
  printf("maglev pool{1,2,3} first 24 ids:");
  for (int e = 0; e < 24; e++) printf(" %u", pool3[table[e]]);
  printf("\n");
  int cnt[3] = {0};
  for (u32 e = 0; e < M; e++) cnt[table[e]]++;
  printf("maglev pool{1,2,3} counts: %d %d %d\n", cnt[0], cnt[1], cnt[2]);
  printf("maglev pool{1,2,3} entries at 100 1000 30000 65536: %u %u %u %u\n", pool3[table[100]], pool3[table[1000]],
         pool3[table[30000]], pool3[table[65536]]);
  u32 pool5[5] = {7, 100, 4000000000u, 42, 9};
  /* sorted */
  u32 sorted5[5] = {7, 9, 42, 100, 4000000000u};
  (void)pool5;
  maglev(sorted5, 5, table);
  int cnt5[5] = {0};
  for (u32 e = 0; e < M; e++) cnt5[table[e]]++;
  printf("maglev pool{7,9,42,100,4000000000} counts: %d %d %d %d %d; entries 0..11:", cnt5[0], cnt5[1], cnt5[2],
         cnt5[3], cnt5[4]);
  for (int e = 0; e < 12; e++) printf(" %u", sorted5[table[e]]);
  printf("\n");
  /* Which backend of pool{1,2,3} a HASH_SESSION TCP flow picks. */
  maglev(pool3, 3, table);
  u32 h = jhash2(four, 4, 0);
  printf("flow tcp 10.0.0.1:12345 > 10.0.0.100:80 hash=0x%08x idx=%u backend=%u\n", h, h % M, pool3[table[h % M]]);
  u32 h1 = jhash2(one, 1, 0);
  printf("srcip 10.0.0.1 hash=0x%08x idx=%u backend=%u\n", h1, h1 % M, pool3[table[h1 % M]]);
  /* IPv6 (docs/semantics.md, "Hashing of IPv6 keys"): the words of each address read big-endian from
     the bytes inet_pton gives, then ports and protocol: 10 words (HASH_SESSION), 4 (HASH_SRC_IP). */
  u32 ten[10];
  addr6_words("2001:db8::1", ten);
  addr6_words("fd00::100", ten + 4);
  ten[8] = (12345u << 16) | 80u;
  ten[9] = 6;
  pw("[tcp6 2001:db8::1:12345>fd00::100:80]", ten, 10, 0);
  u32 h6 = jhash2(ten, 10, 0);
  printf("flow6 tcp [2001:db8::1]:12345 > [fd00::100]:80 hash=0x%08x idx=%u backend=%u\n", h6, h6 % M,
         pool3[table[h6 % M]]);
  u32 h6s = jhash2(ten, 4, 0);
  printf("srcip6 2001:db8::1 hash=0x%08x idx=%u backend=%u\n", h6s, h6s % M, pool3[table[h6s % M]]);
  return 0;
}
