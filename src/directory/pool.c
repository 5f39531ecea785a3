/*
 * pool - a mutex-protected stack of idle directory handles.
 */
#include "directory/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pb_dir_pool {
	pthread_mutex_t lock;
	char *path;
	pb_dir_opts opts;
	unsigned max_idle, n_idle;
	pb_dir **idle;
};

/* pb_dir_pool_new - an empty pool. */
pb_dir_pool *pb_dir_pool_new(const char *path, const pb_dir_opts *opts,
			     unsigned max_idle)
{
	pb_dir_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->path = strdup(path);
	pool->idle = calloc(max_idle ? max_idle : 1, sizeof(*pool->idle));
	if (pool->path == NULL || pool->idle == NULL) {
		free(pool->path);
		free(pool->idle);
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pool->opts = *opts;
	pool->max_idle = max_idle;
	return pool;
}

/* pb_dir_pool_get - reuse an idle handle or open one. */
pb_dir *pb_dir_pool_get(pb_dir_pool *pool, char *errbuf, size_t errcap)
{
	pb_dir *dir = NULL;
	const char *error = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->n_idle > 0)
		dir = pool->idle[--pool->n_idle];
	pthread_mutex_unlock(&pool->lock);
	if (dir != NULL)
		return dir;
	if (pb_dir_open(pool->path, &pool->opts, &dir, &error) < 0) {
		snprintf(errbuf, errcap, "%s", error ? error : "cannot open");
		return NULL;
	}
	return dir;
}

/* pb_dir_pool_put - keep the handle for reuse, or close it. */
void pb_dir_pool_put(pb_dir_pool *pool, pb_dir *dir, bool broken)
{
	if (dir == NULL)
		return;
	pb_dir_release(dir); /* an idle handle holds no snapshot */
	if (!broken) {
		pthread_mutex_lock(&pool->lock);
		if (pool->n_idle < pool->max_idle) {
			pool->idle[pool->n_idle++] = dir;
			dir = NULL;
		}
		pthread_mutex_unlock(&pool->lock);
	}
	pb_dir_free(&dir);
}

/* pb_dir_pool_free - close every idle handle. */
void pb_dir_pool_free(pb_dir_pool **poolp)
{
	pb_dir_pool *pool = *poolp;

	if (pool == NULL)
		return;
	for (unsigned i = 0; i < pool->n_idle; i++)
		pb_dir_free(&pool->idle[i]);
	pthread_mutex_destroy(&pool->lock);
	free(pool->idle);
	free(pool->path);
	free(pool);
	*poolp = NULL;
}
