package satellite

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Short names for the listed types of the prune table.
type (
	corev1Service   = corev1.Service
	corev1ConfigMap = corev1.ConfigMap
	corev1Secret    = corev1.Secret
	policyv1PDB     = policyv1.PodDisruptionBudget

	corev1ServiceAccount     = corev1.ServiceAccount
	rbacv1ClusterRoleBinding = rbacv1.ClusterRoleBinding
)
