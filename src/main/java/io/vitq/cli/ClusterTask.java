package io.vitq.cli;

import java.io.Serializable;

/**
 * One unit of work sent to a Spark executor: a calibration or one shard of an evaluation. Tasks carry
 * the command's own arguments (paths made absolute) and rebuild what they need on the worker, so a
 * task computes exactly what the single-process command computes.
 */
interface ClusterTask<T extends Serializable> extends Serializable {
    T run() throws Exception;
}
