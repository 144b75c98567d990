/* SPDX-License-Identifier: MIT */
/*
 * gpu/emu.cc - the CPU stand-in of gpu/emu_i.h: fibers, barriers,
 * collectives, lazy streams
 *
 * Test-only (libdf11gpu-emu.so). A launch runs its blocks one after
 * another in a random order; a block runs its threads as ucontext fibers.
 * A fiber runs until it reaches a barrier or a collective or returns; when
 * every fiber of the block waits, the scheduler checks that all wait at the
 * same kind of operation, computes the collective's results, and resumes
 * them in a fresh random order. Stream work is queued and run when an
 * event or the device is synchronised (or at cudaFree, which synchronises
 * the device on a GPU too). Aborts loudly on any misuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <atomic>
#include <deque>
#include <vector>

#include "gpu/emu_i.h"

dim3 emu_threadIdx, emu_blockIdx, emu_gridDim, emu_blockDim;
uint8_t *emu_dyn_smem;
uint64_t emu_count[3];

/* for tests/gpu/test_gpu: the counters above */
extern "C" __attribute__((visibility("default"))) uint64_t *
df11_emu_counts(void)
{
	return emu_count;
}

/* DF11_EMU_STATS=1: how the blocks were decided, at exit */
static void __attribute__((destructor)) emu_stats(void)
{
	if (getenv("DF11_EMU_STATS"))
		fprintf(stderr,
			"df11 gpu emulator: %llu blocks by the fast path, "
			"%llu by the reference walk (%llu of them good)\n",
			(unsigned long long)emu_count[EMU_FAST],
			(unsigned long long)emu_count[EMU_SLOW],
			(unsigned long long)emu_count[EMU_SLOW_GOOD]);
}

namespace
{

enum { RUN, WAIT, DONE };
enum { OP_BAR = 1, OP_OR, OP_SHFL_UP, OP_REDUCE_ADD };

struct fiber {
	ucontext_t ctx;
	int state, op;
	uint32_t val, arg, res;
	char *stack;
};

const size_t STACK = 256 * 1024;
std::vector<fiber> F;
/* the fibers' stacks live until exit; destroyed before F, it frees them */
struct stacks_free {
	~stacks_free()
	{
		for (fiber &f : F)
			free(f.stack);
	}
} stacks_free_at_exit;
ucontext_t sched;
unsigned cur;
uint64_t rng = 0x9E3779B97F4A7C15ull;
const std::function<void()> *body;

void die(const char *msg)
{
	fprintf(stderr, "df11 gpu emulator: %s\n", msg);
	abort();
}

uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

void trampoline(void)
{
	(*body)();
	F[cur].state = DONE;
	/* uc_link returns to the scheduler */
}

uint32_t collective(int op, uint32_t val, uint32_t arg)
{
	fiber &f = F[cur];
	f.state = WAIT;
	f.op = op;
	f.val = val;
	f.arg = arg;
	swapcontext(&f.ctx, &sched);
	return f.res;
}

/* all fibers wait: check them and compute the results */
void release(unsigned n)
{
	int op = F[0].op;
	for (unsigned i = 0; i < n; i++)
		if (F[i].op != op || F[i].arg != F[0].arg)
			die("threads of a block wait at different barriers");
	for (unsigned i = 0; i < n; i++) {
		unsigned lane = i & 31, w0 = i & ~31u;
		uint32_t r = 0;
		switch (op) {
		case OP_OR:
			for (unsigned k = 0; k < n; k++)
				r |= F[k].val != 0;
			break;
		case OP_SHFL_UP:
			r = lane >= F[i].arg ? F[i - F[i].arg].val : F[i].val;
			break;
		case OP_REDUCE_ADD:
			for (unsigned k = w0; k < w0 + 32 && k < n; k++)
				r += F[k].val;
			break;
		}
		F[i].res = r;
		F[i].state = RUN;
	}
}

void run_block(unsigned n)
{
	std::vector<unsigned> order(n);
	if (F.size() < n) {
		size_t old = F.size();
		F.resize(n);
		for (size_t i = old; i < n; i++)
			if (!(F[i].stack = (char *)malloc(STACK)))
				die("out of memory");
	}
	for (unsigned i = 0; i < n; i++) {
		fiber &f = F[i];
		f.state = RUN;
		f.op = 0;
		getcontext(&f.ctx);
		f.ctx.uc_stack.ss_sp = f.stack;
		f.ctx.uc_stack.ss_size = STACK;
		f.ctx.uc_link = &sched;
		makecontext(&f.ctx, trampoline, 0);
		order[i] = i;
	}
	for (;;) {
		for (unsigned i = n - 1; i > 0;
		     i--) { /* a fresh random order */
			unsigned k = (unsigned)(rnd() % (i + 1));
			unsigned x = order[i];
			order[i] = order[k];
			order[k] = x;
		}
		for (unsigned i : order) {
			cur = i;
			emu_threadIdx = dim3{i, 0, 0};
			swapcontext(&sched, &F[i].ctx);
		}
		unsigned done = 0;
		for (unsigned i = 0; i < n; i++)
			done += F[i].state == DONE;
		if (done == n)
			return;
		if (done)
			die("a barrier that some threads of the block left");
		release(n);
	}
}

} // namespace

/* ---- streams: queues of work, run on synchronisation */

struct emu_stream {
	std::deque<std::function<void()>> q;
};
struct emu_event {
	cudaStream_t st;
};

namespace
{
std::vector<emu_stream *> streams;

void flush(emu_stream *s)
{
	while (s && !s->q.empty()) {
		std::function<void()> fn = std::move(s->q.front());
		s->q.pop_front();
		fn();
	}
}

void flush_all(void)
{
	for (emu_stream *s : streams)
		flush(s);
}

void submit(cudaStream_t st, std::function<void()> fn)
{
	if (st)
		st->q.push_back(std::move(fn));
	else
		fn(); /* the legacy stream: now (ours are non-blocking) */
}
} // namespace

void __syncthreads(void)
{
	collective(OP_BAR, 0, 0);
}

int __syncthreads_or(int pred)
{
	return (int)collective(OP_OR, pred != 0, 0);
}

uint32_t __shfl_up_sync(uint32_t mask, uint32_t v, unsigned delta)
{
	if (mask != 0xFFFFFFFFu)
		die("partial warp masks are not emulated");
	return collective(OP_SHFL_UP, v, delta);
}

uint32_t __reduce_add_sync(uint32_t mask, uint32_t v)
{
	if (mask != 0xFFFFFFFFu)
		die("partial warp masks are not emulated");
	return collective(OP_REDUCE_ADD, v, 0);
}

void emu_launch(cudaStream_t st, unsigned grid, unsigned block, size_t smem,
		std::function<void()> fn)
{
	if (!grid || !block || block > 1024 || smem > 227 * 1024)
		die("bad launch configuration");
	submit(st, [=]() {
		std::vector<unsigned> ord(grid);
		std::vector<uint8_t> sh(smem + 16);
		for (unsigned b = 0; b < grid; b++)
			ord[b] = b;
		for (unsigned b = grid - 1; b > 0; b--) {
			unsigned k = (unsigned)(rnd() % (b + 1));
			unsigned x = ord[b];
			ord[b] = ord[k];
			ord[k] = x;
		}
		body = &fn;
		emu_gridDim = dim3{grid, 1, 1};
		emu_blockDim = dim3{block, 1, 1};
		emu_dyn_smem =
		    (uint8_t *)(((uintptr_t)sh.data() + 15) & ~(uintptr_t)15);
		for (unsigned b : ord) {
			for (size_t i = 0; i < smem; i++) /* garbage */
				emu_dyn_smem[i] = (uint8_t)rnd();
			emu_blockIdx = dim3{b, 0, 0};
			run_block(block);
		}
	});
}

cudaError_t cudaGetDeviceCount(int *n)
{
	const char *s = getenv("DF11_EMU_SEED");
	if (s)
		rng = strtoull(s, NULL, 0) * 0x9E3779B97F4A7C15ull + 1;
	*n = 1;
	return cudaSuccess;
}

cudaError_t cudaSetDevice(int)
{
	return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "df11 CPU emulator");
	p->multiProcessorCount = 3;
	p->major = 9;
	return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t)
{
	return "emulated CUDA error";
}

cudaError_t cudaGetLastError(void)
{
	return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
	flush_all();
	return cudaSuccess;
}

cudaError_t cudaMalloc(void *p, size_t len)
{
	/* device memory: garbage, like cudaMalloc's */
	void *q = aligned_alloc(256, (len + 255) & ~(size_t)255);
	if (!q)
		return cudaErrorMemoryAllocation;
	memset(q, 0xA5, len);
	*(void **)p = q;
	return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
	flush_all(); /* cudaFree synchronises the device */
	free(p);
	return cudaSuccess;
}

cudaError_t cudaMallocHost(void *p, size_t len)
{
	return cudaMalloc(p, len);
}

cudaError_t cudaHostAlloc(void *p, size_t len, unsigned)
{
	return cudaMalloc(p, len);
}

cudaError_t cudaFreeHost(void *p)
{
	return cudaFree(p);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t len, cudaMemcpyKind)
{
	memcpy(dst, src, len);
	return cudaSuccess;
}

/*
 * DF11_EMU_FAIL_AFTER=N: the device is lost after N asynchronous copies
 * (tests of the CPU fallback): that copy and every later one fail.
 */
static bool device_lost()
{
	static std::atomic<long> left{-2}; /* -2: not read yet, -1: never */
	long n = left.load();
	if (n == -2) {
		const char *s = getenv("DF11_EMU_FAIL_AFTER");
		left.compare_exchange_strong(n, s ? atol(s) : -1);
		n = left.load();
	}
	while (n > 0 && !left.compare_exchange_weak(n, n - 1))
		;
	return n == 0;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t len,
			    cudaMemcpyKind, cudaStream_t st)
{
	if (device_lost())
		return cudaErrorLaunchFailure;
	submit(st, [=]() { memcpy(dst, src, len); });
	return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *st, unsigned)
{
	*st = new emu_stream;
	streams.push_back(*st);
	return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t st)
{
	flush(st);
	for (size_t i = 0; i < streams.size(); i++)
		if (streams[i] == st)
			streams.erase(streams.begin() + (long)i);
	delete st;
	return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *ev)
{
	*ev = new emu_event{nullptr};
	return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned)
{
	return cudaEventCreate(ev);
}

cudaError_t cudaEventDestroy(cudaEvent_t ev)
{
	delete ev;
	return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t st)
{
	ev->st = st;
	return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t ev)
{
	flush(ev->st);
	return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t, cudaEvent_t)
{
	*ms = 1.0f;
	return cudaSuccess;
}
