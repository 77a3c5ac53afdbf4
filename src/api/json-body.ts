/**
 * The JSON body parser of every route that takes a small JSON body (batches parse their own, larger ones).
 * The task routers use it on their POST alone, ahead of the app-wide one, so a GET of a task (the commonest
 * request) passes no body-parser layer.
 */
import express from 'express';

export const jsonBody = express.json({ limit: '64kb', strict: false });
