// kiln_mpi: loads the MPI library with dlopen and calls it through pointers whose types come from mpi.h,
// so the compiler checks every call against the real signatures while the binary links no MPI symbol.
#include "kiln_mpi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// Debian's libopenmpi-dev puts mpi.h in a multiarch folder that the compiler searches without -I.
#if __has_include(<mpi.h>)
#include <mpi.h>
#elif __has_include(<openmpi/mpi.h>)
#include <openmpi/mpi.h>
#else
#error "Kiln's distributed training needs Open MPI's mpi.h: apt-get install libopenmpi-dev"
#endif

_Static_assert(sizeof(MPI_Request) <= sizeof(kiln_mpi_request), "an MPI_Request must fit in kiln_mpi_request");

static void *library;

// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are addresses of objects inside
// libmpi; the header names them through OMPI_PREDEFINED_GLOBAL, which is redefined here to look the object
// up in the loaded library instead of linking it. (MPICH's handles are integer constants and need nothing.)
#ifdef OMPI_PREDEFINED_GLOBAL
#undef OMPI_PREDEFINED_GLOBAL
#define OMPI_PREDEFINED_GLOBAL(type, global) ((type)dlsym(library, #global))
#endif

// Every entry point used, as a pointer of the header's own type.
#define KILN_MPI_FUNCTIONS(X) \
    X(MPI_Init_thread) \
    X(MPI_Finalize) \
    X(MPI_Abort) \
    X(MPI_Comm_rank) \
    X(MPI_Comm_size) \
    X(MPI_Comm_split_type) \
    X(MPI_Comm_free) \
    X(MPI_Comm_set_errhandler) \
    X(MPI_Get_processor_name) \
    X(MPI_Error_string) \
    X(MPI_Iallreduce) \
    X(MPI_Ibcast) \
    X(MPI_Iallgather) \
    X(MPI_Isend) \
    X(MPI_Irecv) \
    X(MPI_Test) \
    X(MPI_Wait) \
    X(MPI_Cancel) \
    X(MPI_Request_free)

#define KILN_MPI_DECLARE(name) static __typeof__(&name) call_##name;
KILN_MPI_FUNCTIONS(KILN_MPI_DECLARE)

#define KILN_MPI_REQUIRE_LOADED \
    if (library == NULL) return KILN_MPI_NOT_LOADED;

// Opens `path`, or Open MPI's library under its usual names; `tried` names the last file tried.
static void *open_library(const char *path, const char **tried) {
    // RTLD_GLOBAL: Open MPI's own plugins resolve their symbols in libmpi.
    const int mode = RTLD_NOW | RTLD_GLOBAL;
    if (path != NULL) {
        *tried = path;
        return dlopen(path, mode);
    }
    const char *names[] = {"libmpi.so.40", "libmpi.so"};
    for (size_t index = 0; index < sizeof names / sizeof *names; index++) {
        *tried = names[index];
        void *opened = dlopen(names[index], mode);
        if (opened != NULL) return opened;
    }
    return NULL;
}

int kiln_mpi_load(const char *path, char *message, size_t capacity) {
    if (library != NULL) return 0;
    const char *tried = "";
    library = open_library(path, &tried);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(message, capacity,
                 "cannot load the MPI library %s: %s; install Open MPI (apt-get install openmpi-bin libopenmpi-dev) or set KILN_MPI_LIBRARY",
                 tried, reason != NULL ? reason : "not found");
        return -1;
    }
#define KILN_MPI_RESOLVE(name)                                                                            \
    call_##name = (__typeof__(&name))dlsym(library, #name);                                               \
    if (call_##name == NULL) {                                                                            \
        snprintf(message, capacity, "the MPI library %s has no %s; Kiln needs MPI 3 (Open MPI 4 or later)", tried, #name); \
        dlclose(library);                                                                                 \
        library = NULL;                                                                                   \
        return -1;                                                                                        \
    }
    KILN_MPI_FUNCTIONS(KILN_MPI_RESOLVE)
    return 0;
}

int kiln_mpi_init(void) {
    KILN_MPI_REQUIRE_LOADED
    int provided = 0;
    int status = call_MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status != MPI_SUCCESS) return status;
    return call_MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

int kiln_mpi_finalize(void) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Finalize();
}

int kiln_mpi_abort(int code) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Abort(MPI_COMM_WORLD, code);
}

int kiln_mpi_rank(int *rank) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Comm_rank(MPI_COMM_WORLD, rank);
}

int kiln_mpi_size(int *size) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Comm_size(MPI_COMM_WORLD, size);
}

int kiln_mpi_local_rank(int *rank, int *size) {
    KILN_MPI_REQUIRE_LOADED
    MPI_Comm host;
    int status = call_MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
    if (status != MPI_SUCCESS) return status;
    status = call_MPI_Comm_rank(host, rank);
    if (status == MPI_SUCCESS) status = call_MPI_Comm_size(host, size);
    int freed = call_MPI_Comm_free(&host);
    return status != MPI_SUCCESS ? status : freed;
}

int kiln_mpi_processor_name(char *name, size_t capacity) {
    KILN_MPI_REQUIRE_LOADED
    char buffer[MPI_MAX_PROCESSOR_NAME];
    int length = 0;
    int status = call_MPI_Get_processor_name(buffer, &length);
    if (status == MPI_SUCCESS) snprintf(name, capacity, "%.*s", length, buffer);
    return status;
}

void kiln_mpi_error_string(int code, char *message, size_t capacity) {
    if (library == NULL) {
        snprintf(message, capacity, "MPI is not loaded");
        return;
    }
    char buffer[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (call_MPI_Error_string(code, buffer, &length) == MPI_SUCCESS) {
        snprintf(message, capacity, "%.*s", length, buffer);
    } else {
        snprintf(message, capacity, "MPI error %d", code);
    }
}

// A kiln_mpi_request holds the MPI_Request's bytes.
static MPI_Request *request_of(kiln_mpi_request *request) { return (MPI_Request *)request; }

int kiln_mpi_iallreduce_sum_float(float *values, int count, kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request_of(request));
}

int kiln_mpi_iallreduce_sum_double(double *values, int count, kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Iallreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, request_of(request));
}

int kiln_mpi_ibroadcast(void *bytes, int count, int root, kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Ibcast(bytes, count, MPI_BYTE, root, MPI_COMM_WORLD, request_of(request));
}

int kiln_mpi_iallgather(const void *sent, void *received, int count, kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Iallgather(sent, count, MPI_BYTE, received, count, MPI_BYTE, MPI_COMM_WORLD, request_of(request));
}

int kiln_mpi_isend_int64(const int64_t *value, int destination, int tag, kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Isend(value, 1, MPI_INT64_T, destination, tag, MPI_COMM_WORLD, request_of(request));
}

int kiln_mpi_irecv_int64(int64_t *value, int source, int tag, kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Irecv(value, 1, MPI_INT64_T, source, tag, MPI_COMM_WORLD, request_of(request));
}

int kiln_mpi_test(kiln_mpi_request *request, int *done) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Test(request_of(request), done, MPI_STATUS_IGNORE);
}

int kiln_mpi_release(kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    return call_MPI_Request_free(request_of(request));
}

int kiln_mpi_cancel(kiln_mpi_request *request) {
    KILN_MPI_REQUIRE_LOADED
    int status = call_MPI_Cancel(request_of(request));
    if (status != MPI_SUCCESS) return status;
    return call_MPI_Wait(request_of(request), MPI_STATUS_IGNORE);
}
