"""Sample the policy n times per problem, grade, store; the unbiased pass@k estimator."""
