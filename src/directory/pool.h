/*
 * pool - directory handles shared out to connection threads.
 *
 * A pb_dir (one SQLite connection) is not thread-safe, and opening one
 * costs more than a lookup; the pool keeps idle handles for reuse.
 * Threading: pb_dir_pool_get/put are safe from any thread.
 */
#ifndef PB_DIR_POOL_H
#define PB_DIR_POOL_H

#include <stdbool.h>

#include "directory/dir.h"

typedef struct pb_dir_pool pb_dir_pool;

/* pb_dir_pool_new - a pool for the database at path; keeps at most
 * max_idle idle handles.  NULL when out of memory. */
pb_dir_pool *pb_dir_pool_new(const char *path, const pb_dir_opts *opts,
			     unsigned max_idle);

/* pb_dir_pool_get - an idle handle or a newly opened one; NULL with
 * *error_r (copied into errbuf) when the database cannot be opened. */
pb_dir *pb_dir_pool_get(pb_dir_pool *pool, char *errbuf, size_t errcap);

/* pb_dir_pool_put - give a handle back; a handle that failed is closed
 * (broken = true) so the next get reopens the database. */
void pb_dir_pool_put(pb_dir_pool *pool, pb_dir *dir, bool broken);

void pb_dir_pool_free(pb_dir_pool **pool);

#endif
