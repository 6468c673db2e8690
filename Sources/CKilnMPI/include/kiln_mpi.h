// kiln_mpi: the part of MPI that Kiln's data-parallel training uses, behind plain C types. The MPI library
// is loaded at run time (dlopen) by kiln_mpi_load, so nothing that links Kiln needs libmpi, or pays for
// loading it, unless it runs under mpirun. Every function but kiln_mpi_load returns an MPI error code
// (0 is success; kiln_mpi_error_string explains the others) and must follow a successful kiln_mpi_load.
#ifndef KILN_MPI_H
#define KILN_MPI_H

#include <stddef.h>
#include <stdint.h>

/// An MPI_Request of a nonblocking operation, opaque to the caller.
typedef uint64_t kiln_mpi_request;

/// Returned for a call made before a successful kiln_mpi_load.
#define KILN_MPI_NOT_LOADED (-1)

/// Loads the MPI library at `path`, or, when `path` is NULL, libmpi.so.40 and then libmpi.so (Open MPI),
/// and resolves every entry point. Returns 0, or -1 with the reason in `message`.
int kiln_mpi_load(const char *path, char *message, size_t capacity);

/// MPI_Init_thread with MPI_THREAD_FUNNELED (only the thread that calls init calls MPI), then
/// MPI_ERRORS_RETURN on MPI_COMM_WORLD so failures come back as codes instead of aborting in the library.
int kiln_mpi_init(void);
int kiln_mpi_finalize(void);
/// Ends every process of the job with `code` (MPI_Abort on MPI_COMM_WORLD).
int kiln_mpi_abort(int code);

int kiln_mpi_rank(int *rank);
int kiln_mpi_size(int *size);
/// This process's rank among the processes on its host, and their number (MPI_Comm_split_type, shared memory).
int kiln_mpi_local_rank(int *rank, int *size);
/// The host's name as MPI reports it.
int kiln_mpi_processor_name(char *name, size_t capacity);
/// The text of an MPI error code (the library's own words), or a note that MPI is not loaded.
void kiln_mpi_error_string(int code, char *message, size_t capacity);

/// Starts the in-place sum over all ranks of `count` floats.
int kiln_mpi_iallreduce_sum_float(float *values, int count, kiln_mpi_request *request);
/// Starts the in-place sum over all ranks of `count` doubles.
int kiln_mpi_iallreduce_sum_double(double *values, int count, kiln_mpi_request *request);
/// Starts sending `count` bytes from `root`'s buffer into every other rank's.
int kiln_mpi_ibroadcast(void *bytes, int count, int root, kiln_mpi_request *request);
/// Starts gathering `count` bytes from every rank into `received` (size × count bytes, rank order) on all ranks.
int kiln_mpi_iallgather(const void *sent, void *received, int count, kiln_mpi_request *request);
/// Starts sending one 64-bit integer to `destination` with `tag`.
int kiln_mpi_isend_int64(const int64_t *value, int destination, int tag, kiln_mpi_request *request);
/// Starts receiving one 64-bit integer from `source` with `tag`.
int kiln_mpi_irecv_int64(int64_t *value, int source, int tag, kiln_mpi_request *request);
/// Sets `done` to 1 when the operation has finished (its request is then released), else 0.
int kiln_mpi_test(kiln_mpi_request *request, int *done);
/// Lets a started send finish on its own (MPI_Request_free).
int kiln_mpi_release(kiln_mpi_request *request);
/// Cancels a started receive and waits until it is released.
int kiln_mpi_cancel(kiln_mpi_request *request);

#endif
