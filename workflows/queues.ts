/** Task queues: training and inference on GPU workers, everything else on CPU workers. */
export const CPU_TASK_QUEUE = 'lightpath';
export const GPU_TASK_QUEUE = 'lightpath-gpu';
